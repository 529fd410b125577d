"""Which segmenter a run mode uses, and the first one, built while the source opens.

Starting a pipeline opens the source (drawing the demo's room, or a camera's driver) and builds
the MediaPipe graph; each takes a tenth of a second or more. `FirstSegmenter` builds the graph
on a helper meanwhile, for the size the source was asked for, so the first frame comes sooner.
"""

from __future__ import annotations

from app.engine.schedules import RunMode, Segmenter
from app.jobs import JobThread
from segmentation.models import ModelError, ModelSpec, resolve_model
from segmentation.segmenter import LiveSegmenter, VideoSegmenter


def new_segmenter(spec: ModelSpec, mode: RunMode) -> Segmenter:
    """A segmenter for `mode`: every frame (VIDEO) for files, else LIVE_STREAM."""
    if mode is RunMode.EVERY_FRAME:
        return VideoSegmenter(spec)
    return LiveSegmenter(spec)


class FirstSegmenter:
    """Builds the segmenter for `choice` at `width_px` x `height_px` on a helper, at once.

    `build(spec)` hands that one over if `spec` is what was built (waiting for it), and builds
    any other spec itself, as `new_segmenter` does; a build's error is raised there, on the
    caller's thread. `close()` joins the helper and closes a segmenter nobody took. A choice
    that cannot be resolved yet (a size of 0, a model file that fails) builds nothing early:
    the caller meets the problem where it always did.
    """

    def __init__(self, choice: str, width_px: int, height_px: int, mode: RunMode) -> None:
        self._mode = mode
        self._spec: ModelSpec | None = None
        self._job: JobThread[Segmenter] | None = None
        if width_px <= 0 or height_px <= 0:
            return
        try:
            self._spec = resolve_model(choice, width_px, height_px)
        except ModelError:
            return
        spec = self._spec
        self._job = JobThread("backdrop-model-first")
        self._job.submit(lambda: new_segmenter(spec, mode))

    def build(self, spec: ModelSpec) -> Segmenter:
        if self._job is not None and spec == self._spec:
            job, self._job = self._job, None
            try:
                segmenter = job.take()
            finally:
                job.close()
            assert segmenter is not None
            return segmenter
        return new_segmenter(spec, self._mode)

    def close(self) -> None:
        """Join the helper; a segmenter built and not taken is closed. Idempotent."""
        job, self._job = self._job, None
        if job is None:
            return
        try:
            unused = job.take()
        except Exception:  # noqa: S110 - nobody asked for this build, or for its failure
            unused = None
        finally:
            job.close()
        if unused is not None:
            unused.close()
