"""Keep the hand-written numerics or move to libraries? Import cost, installed size and speed, side by side.

For the Gaussian-mixture EM of the cold-diffusion prior, SSIM and the Fréchet distance, times diffdash's
torch code against scikit-learn's GaussianMixture, scikit-image's structural_similarity and the
scipy.linalg.sqrtm Fréchet distance on the same inputs (real MNIST digits, the sizes diffdash uses),
and measures what importing each library adds to a process that has already imported torch.

    python benchmarks/bench_reference_libs.py              # one thread (the default here), best of 3
    python benchmarks/bench_reference_libs.py --threads 2
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

LIBS = {  # what diffdash would import, and the distributions that brings in
    "scikit-learn": (
        "from sklearn.mixture import GaussianMixture",
        ["scikit-learn", "scipy", "joblib", "threadpoolctl"],
    ),
    "scikit-image": (
        "from skimage.metrics import structural_similarity",
        ["scikit-image", "scipy", "imageio", "tifffile", "lazy-loader", "networkx"],
    ),
    "scipy": ("from scipy.linalg import sqrtm", ["scipy"]),
}


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def import_seconds(statement: str, repeat: int) -> float:
    """Seconds an import statement takes in a fresh process that has imported torch (as diffdash has by then)."""
    code = f"import time, torch; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return min(float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(repeat))


def installed_mb(dists: list[str]) -> float:
    total = 0
    for name in dists:
        try:
            files = md.distribution(name).files or []
        except md.PackageNotFoundError:
            continue
        for f in files:
            path = Path(f.locate())
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def pooled_pca(x: torch.Tensor, d: int, pool: int) -> torch.Tensor:
    flat = torch.nn.functional.avg_pool2d(x.double(), pool).flatten(1)
    centred = flat - flat.mean(0)
    return centred @ torch.linalg.svd(centred, full_matrices=False)[2][:d].T


def report(row: tuple[str, float, float, str]) -> None:
    task, ours, theirs, lib = row
    print(f"{task:<32}{ours:>11.4f}{theirs:>11.4f}{theirs / ours:>17.2f}x  {lib}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from diffdash.diffusion.cold_prior import fit_gmm
    from diffdash.metrics.fid import feature_stats, frechet_distance
    from diffdash.metrics.recon import ssim
    from diffdash.mnist.load import load_bundled, to_tensor

    data = load_bundled()
    train = to_tensor(data.train_images, "cpu")  # 10,000 digits: the prior fits FIT_IMAGES = 10,000
    test = to_tensor(data.test_images, "cpu")
    print(f"torch {torch.__version__}, {args.threads} thread(s), best of {args.repeat}\n")
    print(f"{'library':<14}{'import s':>9}{'installed MB':>14}")
    for name, (module, dists) in LIBS.items():
        print(f"{name:<14}{import_seconds(module, args.repeat):>9.2f}{installed_mb(dists):>14.0f}")
    print()

    from scipy import linalg
    from skimage.metrics import structural_similarity
    from sklearn.mixture import GaussianMixture

    print(f"{'task':<32}{'diffdash s':>11}{'library s':>11}{'library/diffdash':>18}  library")

    z = pooled_pca(train, 24, 2)  # the prior: 24 principal components, 10 components, 60 EM steps
    w0, m0, c0 = fit_gmm(z, 10, iters=0)
    reg = float(1e-4 * z.var(dim=0).mean())

    def sk_gmm() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GaussianMixture(
                10, covariance_type="full", reg_covar=reg, max_iter=60, tol=0.0, init_params="random_from_data",
                weights_init=w0.numpy(), means_init=m0.numpy(), precisions_init=torch.linalg.inv(c0).numpy(),
            ).fit(z.numpy())  # fmt: skip

    report(("GMM EM 10000x24, k=10, 60 it", best_of(lambda: fit_gmm(z, 10, iters=60), args.repeat),
                 best_of(sk_gmm, args.repeat), "scikit-learn"))  # fmt: skip
    a, b = test[:1000], torch.nn.functional.avg_pool2d(test[:1000], 3, stride=1, padding=1)
    an, bn = a[:, 0].double().numpy(), b[:, 0].double().numpy()

    def sk_ssim() -> float:
        kw = dict(data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        return float(np.mean([structural_similarity(x, y, **kw) for x, y in zip(an, bn, strict=True)]))

    report(("SSIM 1000 digits 28x28", best_of(lambda: ssim(b, a), args.repeat), best_of(sk_ssim, args.repeat),
                 "scikit-image"))  # fmt: skip
    blurred = torch.nn.functional.avg_pool2d(train[5000:], 3, stride=1, padding=1)
    feats = pooled_pca(torch.cat([train[:5000], blurred]), 128, 1).float()  # 128 features, as the classifier's
    mu1, s1 = feature_stats(feats[:5000])
    mu2, s2 = feature_stats(feats[5000:])

    def scipy_fid() -> float:
        m1, m2, a1, a2 = (t.numpy() for t in (mu1, mu2, s1, s2))
        covmean = linalg.sqrtm(a1 @ a2)
        return float(((m1 - m2) ** 2).sum() + np.trace(a1) + np.trace(a2) - 2 * np.trace(covmean.real))

    report(("Frechet distance, 128 features", best_of(lambda: frechet_distance(mu1, s1, mu2, s2), args.repeat),
                 best_of(scipy_fid, args.repeat), "scipy sqrtm"))  # fmt: skip


if __name__ == "__main__":
    main()
