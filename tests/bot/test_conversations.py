"""The bot's archive memory while it stops: an answer delivered during a shutdown is not an error."""

import logging

from bot.conversations import Conversations


class _Engine:
    def __init__(self):
        self.released = []

    def release_waiting(self, question_id):
        self.released.append(question_id)


async def test_releasing_a_question_after_close_keeps_it_quietly_for_the_next_start(caplog):
    caplog.set_level(logging.INFO)
    engine = _Engine()
    conversations = Conversations(engine)
    await conversations.release_waiting(1)
    await conversations.close()
    await conversations.release_waiting(2)  # the bot is stopping: no "cannot schedule new futures" error
    assert engine.released == [1]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
