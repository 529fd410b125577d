"""Prepare the MediaPipe selfie segmentation models for the Tasks ImageSegmenter.

The npm package ``@mediapipe/selfie_segmentation`` (Apache-2.0) ships the two
models as bare TFLite files. The Tasks ImageSegmenter refuses a model without
metadata, and mediapipe's own metadata writer cannot be imported in 1.2.2 (its
compiled ``_pywrap_metadata_version`` module is missing), so this script writes
the metadata flatbuffer itself with the generated schema classes mediapipe ships.

Usage::

    npm pack @mediapipe/selfie_segmentation && tar xzf mediapipe-selfie_segmentation-*.tgz
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
_METADATA_NAME = "TFLITE_METADATA"
_METADATA_IDENTIFIER = b"M001"
_MODEL_IDENTIFIER = b"TFL3"
# The oldest metadata parser that understands the fields written below.
_MIN_PARSER_VERSION = "1.0.0"


def _input_tensor_metadata() -> md.TensorMetadataT:
    """An RGB image normalised to [0, 1]: (pixel - 0) / 255."""
    normalization = md.ProcessUnitT()
    normalization.optionsType = md.ProcessUnitOptions.NormalizationOptions
    normalization.options = md.NormalizationOptionsT()
    normalization.options.mean = [0.0]
    normalization.options.std = [255.0]

    content = md.ContentT()
    content.contentPropertiesType = md.ContentProperties.ImageProperties
    content.contentProperties = md.ImagePropertiesT()
    content.contentProperties.colorSpace = md.ColorSpaceType.RGB

    stats = md.StatsT()
    stats.max = [1.0]
    stats.min = [0.0]

    tensor = md.TensorMetadataT()
    tensor.name = "image"
    tensor.description = "RGB frame, values scaled to [0, 1]."
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


def build_metadata(name: str) -> bytes:
    """The ModelMetadata flatbuffer for one selfie segmentation model."""
    subgraph = md.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [_input_tensor_metadata()]
    subgraph.outputTensorMetadata = [_output_tensor_metadata()]

    model_metadata = md.ModelMetadataT()
    model_metadata.name = name
    model_metadata.description = "MediaPipe selfie segmentation: person confidence per pixel."
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
    for source_name, target_name in MODELS.items():
        source = args.package_dir / source_name
        if not source.is_file():
            print(f"error: {source} not found; unpack the npm package there first", file=sys.stderr)
            return 1
        prepared = add_metadata(source.read_bytes(), build_metadata(Path(target_name).stem))
        (args.out_dir / target_name).write_bytes(prepared)
        print(f"wrote {args.out_dir / target_name} ({len(prepared)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
