"""Pieces for fake ``Orchestration``s: an ``execute`` that already knows its ``FrameResult``
wraps it with ``answered``, and ``CommitsAnswer.commit`` hands it back."""

from __future__ import annotations

from contextree.context.generation.contracts import ExecutedCall, FrameResult, PreparedCall


def answered(prepared: PreparedCall, result: FrameResult) -> ExecutedCall:
    """The ``ExecutedCall`` of a fake whose frame is ``result``."""
    return ExecutedCall(
        prepared=prepared,
        tokens_in=result.tokens_in,
        tokens_out=result.tokens_out,
        payload=result,
    )


class CommitsAnswer:
    """``commit`` for fakes built on ``answered``: the frame result, as ``execute`` made it."""

    async def commit(self, executed: ExecutedCall) -> FrameResult:
        result = executed.payload
        assert isinstance(result, FrameResult)
        return result
