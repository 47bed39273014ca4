"""Shared Textual widgets: the loss chart, the sample-grid image and the event line."""

from diffdash.ui.widgets.event_line import EventLine, describe_event
from diffdash.ui.widgets.loss_chart import LossChart
from diffdash.ui.widgets.sample_image import IMAGE_MODES, SampleImage, image_class
from diffdash.ui.widgets.series import Series, ThinSeries

__all__ = [
    "EventLine",
    "describe_event",
    "LossChart",
    "SampleImage",
    "IMAGE_MODES",
    "image_class",
    "Series",
    "ThinSeries",
]
