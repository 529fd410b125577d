"""The segmentation models Backdrop knows, and how a user's choice maps to a file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from segmentation.mediapipe_tasks import defer_unused_modules

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
MODELS_DIR = ASSETS_DIR / "models"
MODEL_CHOICES = ("auto", "general", "landscape")
_TFLITE_IDENTIFIER = b"TFL3"
# Frames wider than 4:3 use the landscape model: its 256x144 input matches 16:9 without distortion.
_LANDSCAPE_ABOVE_ASPECT = 4 / 3


class ModelError(Exception):
    """A model file that is missing, not a model, or not an image segmenter."""


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A segmentation model file and the input size it expects."""

    name: str
    path: Path
    input_width_px: int
    input_height_px: int

    @property
    def input_size(self) -> tuple[int, int]:
        return self.input_width_px, self.input_height_px


GENERAL = ModelSpec("general", MODELS_DIR / "selfie_general.tflite", 256, 256)
LANDSCAPE = ModelSpec("landscape", MODELS_DIR / "selfie_landscape.tflite", 256, 144)


def resolve_model(choice: str, frame_width_px: int, frame_height_px: int) -> ModelSpec:
    """Map `auto|general|landscape|<path>` to a model spec, checking a custom file."""
    if choice == "auto":
        wide = frame_width_px > frame_height_px * _LANDSCAPE_ABOVE_ASPECT + 1e-6
        return LANDSCAPE if wide else GENERAL
    if choice == "general":
        return GENERAL
    if choice == "landscape":
        return LANDSCAPE
    return custom_model(Path(choice).expanduser())


def custom_model(path: Path) -> ModelSpec:
    """Inspect a user-supplied .tflite file and read its input size."""
    if path.is_dir():
        raise ModelError(f"'{path}' is a folder, not a model file. Choose a .tflite file, "
                         "or use --model auto.")
    if not path.is_file():
        raise ModelError(
            f"Model file '{path}' does not exist. Choose an existing .tflite file, "
            "or use --model auto."
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelError(f"Cannot read model file '{path}': {error.strerror}.") from error
    width_px, height_px = _input_size(path, data)
    return ModelSpec(path.stem, path, width_px, height_px)


def _input_size(path: Path, data: bytes) -> tuple[int, int]:
    """Read the first input tensor's (width, height) from a TFLite flatbuffer."""
    not_a_model = ModelError(
        f"'{path}' is not a TensorFlow Lite model. Choose a MediaPipe image segmenter "
        "(.tflite), or use --model auto."
    )
    if len(data) < 8 or data[4:8] != _TFLITE_IDENTIFIER:
        raise not_a_model
    defer_unused_modules()
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    try:
        model = tfl.Model.GetRootAsModel(data, 0)
        subgraph = model.Subgraphs(0)
        tensor = subgraph.Tensors(subgraph.Inputs(0))
        shape = [int(tensor.Shape(i)) for i in range(tensor.ShapeLength())]
    except Exception as error:  # a damaged flatbuffer fails anywhere inside
        raise not_a_model from error
    if len(shape) != 4 or shape[3] not in (1, 3) or min(shape[1:3]) <= 0:
        raise ModelError(
            f"'{path}' is a TensorFlow Lite model but not an image segmenter: its input "
            f"shape is {shape}, expected [1, height, width, 3]."
        )
    return shape[2], shape[1]
