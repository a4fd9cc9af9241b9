"""Polling confirms only handled updates (seed 001): the offset ledger and its file."""

from botfakes.reference_bot.telegram.offsets import OffsetLedger


def test_watermark_waits_for_the_oldest_update_still_in_hand():
    ledger = OffsetLedger()
    for uid in (10, 11, 12):
        assert ledger.fetched(uid)
    assert ledger.next_offset == 10
    ledger.done(12)  # another chat finished first
    ledger.done(11)
    assert ledger.next_offset == 10  # 10 is not handled: confirming 11+ would forget it
    ledger.done(10)
    assert ledger.next_offset == 13


def test_updates_seen_again_are_not_handed_out_twice():
    ledger = OffsetLedger()
    assert ledger.fetched(5) and ledger.fetched(6)
    ledger.done(6)
    assert not ledger.fetched(5)  # still in hand
    assert not ledger.fetched(6)  # done above the watermark
    ledger.done(5)
    assert not ledger.fetched(5)


def test_gaps_in_update_ids_do_not_stall_the_watermark():
    ledger = OffsetLedger()
    ledger.fetched(100)
    ledger.fetched(107)
    ledger.done(100)
    assert ledger.next_offset == 107
    ledger.done(107)
    assert ledger.next_offset == 108


def test_abandoned_update_stays_unconfirmed_until_handled():
    ledger = OffsetLedger()
    ledger.fetched(1), ledger.fetched(2)
    ledger.abandoned(1)
    ledger.done(2)
    assert ledger.next_offset == 1
    assert ledger.fetched(1)  # the server hands it out again
    ledger.done(1)
    assert ledger.next_offset == 3


def test_a_restart_resumes_from_the_file_and_skips_what_was_done(tmp_path):
    path = tmp_path / "offset.json"
    ledger = OffsetLedger(path)
    for uid in (20, 21, 22):
        ledger.fetched(uid)
    ledger.done(22)  # then kill -9: 20 and 21 were in hand
    restarted = OffsetLedger(path)
    assert restarted.next_offset == 20
    assert restarted.fetched(20) and restarted.fetched(21)
    assert not restarted.fetched(22)
    restarted.done(20)
    restarted.done(21)
    assert restarted.next_offset == 23
    assert OffsetLedger(path).next_offset == 23


def test_unreadable_file_is_ignored(tmp_path):
    path = tmp_path / "offset.json"
    path.write_text("{half")
    assert OffsetLedger(path).next_offset == 0


def test_a_file_of_another_bot_is_ignored(tmp_path):
    path = tmp_path / "offset.json"
    ledger = OffsetLedger(path, owner="111")
    ledger.fetched(500)
    ledger.done(500)
    assert OffsetLedger(path, owner="111").next_offset == 501
    assert OffsetLedger(path, owner="222").next_offset == 0
    assert "secret" not in path.read_text()


def test_restarted_update_ids_are_not_skipped():
    ledger = OffsetLedger()
    ledger.fetched(900)
    ledger.done(900)
    ledger.restart_sequence()
    assert ledger.fetched(5)  # would be "below the watermark" without the restart
    ledger.done(5)
    assert ledger.next_offset == 6
