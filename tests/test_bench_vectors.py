"""The benchmarks' on-disk vector cache: what was embedded once is never embedded again."""

import numpy as np

from bot.bench.vector_store import DiskVectors


def _fake_model(calls):
    def compute(texts):
        calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
    return compute


def test_vectors_survive_a_new_process_and_are_not_computed_again(tmp_path):
    calls: list = []
    first = DiskVectors(tmp_path, "some/model", "passage: ").get(["a", "bb", "a"], _fake_model(calls))
    again = DiskVectors(tmp_path, "some/model", "passage: ").get(["bb", "a"], _fake_model(calls))
    assert calls == [["a", "bb"]]  # duplicates embedded once, the second run nothing
    assert np.array_equal(first[[1, 0]], again)


def test_another_model_or_prefix_does_not_share_vectors(tmp_path):
    calls: list = []
    DiskVectors(tmp_path, "model-a", "passage: ").get(["x"], _fake_model(calls))
    DiskVectors(tmp_path, "model-b", "passage: ").get(["x"], _fake_model(calls))
    DiskVectors(tmp_path, "model-a", "query: ").get(["x"], _fake_model(calls))
    assert calls == [["x"], ["x"], ["x"]]
