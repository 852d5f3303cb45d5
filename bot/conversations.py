"""Follow-up threads: which thread continues which conversation."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from index.models import Filters

MAX_TURNS = 10


@dataclass
class Conversation:
    turns: list[str]
    filters: Filters | None = None
    thread_id: int | None = None
    source_message_id: int | None = None

    def history(self) -> tuple[str, ...]:
        return tuple(self.turns[-MAX_TURNS:])

    def add(self, question: str) -> None:
        self.turns.append(question)
        del self.turns[:-MAX_TURNS]


class Conversations:
    """The most recent follow-up threads, by thread id and by the answer message they grew from."""

    def __init__(self, capacity: int = 2000):
        self._capacity = capacity
        self._by_thread: OrderedDict[int, Conversation] = OrderedDict()
        self._thread_of_message: dict[int, int] = {}

    def open(self, thread_id: int, source_message_id: int, conversation: Conversation) -> None:
        conversation.thread_id = thread_id
        conversation.source_message_id = source_message_id
        self._by_thread[thread_id] = conversation
        self._thread_of_message[source_message_id] = thread_id
        while len(self._by_thread) > self._capacity:
            _, dropped = self._by_thread.popitem(last=False)
            if dropped.source_message_id is not None:
                self._thread_of_message.pop(dropped.source_message_id, None)

    def get(self, thread_id: int) -> Conversation | None:
        conversation = self._by_thread.get(thread_id)
        if conversation is not None:
            self._by_thread.move_to_end(thread_id)
        return conversation

    def thread_for_message(self, message_id: int) -> int | None:
        return self._thread_of_message.get(message_id)
