"""Expectations and the write tracker: waiting for the cache to show our own writes."""

from __future__ import annotations

from kubesvc.controllers.tracker import Expectations, WriteTracker


def test_expectations_count_creations_and_track_deletions() -> None:
    exp = Expectations(ttl=300)
    assert exp.satisfied("rs", 0)
    exp.expect_creations("rs", 2, 0)
    assert not exp.satisfied("rs", 1)
    exp.creation_observed("rs")
    exp.creation_observed("rs")
    exp.creation_observed("rs")  # never below zero
    assert exp.satisfied("rs", 1) and exp.pending("rs") == (0, 0)
    exp.expect_deletions("rs", ["ns/a", "ns/b"], 10)
    exp.deletion_observed("rs", "ns/a")
    assert not exp.satisfied("rs", 11)
    assert exp.satisfied("rs", 311)  # expired
    exp.deletion_observed("rs", "ns/b")
    assert exp.satisfied("rs", 12)
    exp.expect_creations("rs", 1, 20)
    exp.delete("rs")
    assert exp.satisfied("rs", 21)


def test_write_tracker_waits_for_the_written_version() -> None:
    tracker = WriteTracker(ttl=60)
    tracker.wrote("svc", "ns/slice-a", "10", 0)
    tracker.deleted("svc", "ns/slice-b", 0)
    assert tracker.stale("svc", 1)
    tracker.observe("ns/slice-a", "9")
    assert tracker.stale("svc", 1)
    tracker.observe("ns/slice-a", "12")  # a later version also proves the write was seen
    tracker.observe("ns/slice-b", "11")  # not the deletion
    assert tracker.stale("svc", 1)
    tracker.observe("ns/slice-b", None)
    assert not tracker.stale("svc", 1)


def test_write_tracker_skips_writes_the_cache_already_shows_and_expires() -> None:
    tracker = WriteTracker(ttl=60)
    tracker.wrote("svc", "ns/a", "10", 0, cached="10")
    tracker.deleted("svc", "ns/b", 0, cached=False)
    assert not tracker.stale("svc", 0)
    tracker.wrote("svc", "ns/a", "opaque-2", 0, cached="opaque-1")
    assert tracker.stale("svc", 30)
    assert not tracker.stale("svc", 61)
    tracker.wrote("svc", "ns/a", "20", 0)
    tracker.forget("svc")
    assert not tracker.stale("svc", 1)
