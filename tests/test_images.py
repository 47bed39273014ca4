import numpy as np
from PIL import Image

from diffdash.mnist.grids import grid_array, save_grid, to_uint8


def test_data_range_maps_to_black_and_white_without_clamping_the_negative_half():
    assert to_uint8(np.array([-0.5, -0.25, 0.0, 0.5])).tolist() == [0, 64, 128, 255]


def test_grid_png_has_4x4_layout(tmp_path):
    images = np.linspace(-0.5, 0.5, 16)[:, None, None, None] * np.ones((16, 1, 28, 28))
    path = save_grid(images, tmp_path / "g.png", nrow=4)
    img = np.asarray(Image.open(path))
    assert img.shape == (4 * 30 + 2, 4 * 30 + 2)
    assert img[2, 2] == 0 and img[-3, -3] == 255
    assert grid_array(images[:5]).shape == (2 * 30 + 2, 3 * 30 + 2)  # 3 columns, 2 rows
