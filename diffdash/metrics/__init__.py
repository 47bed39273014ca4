"""Sample-quality metrics: an MNIST classifier, FID in its feature space, digit histograms, reconstructions."""
