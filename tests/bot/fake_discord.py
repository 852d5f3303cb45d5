"""A fake Discord (gateway + REST) served with aiohttp on 127.0.0.1, for running the real discord.py client.

It records every request with its JSON body so tests can assert on what the bot sent, drives the bot by
dispatching gateway events (interactions, messages), and can close the gateway or answer 429 on demand (or on a
share of all REST calls, at random).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web

APP_ID = 910000000000000001
BOT_ID = 910000000000000002
GUILD_ID = 920000000000000001  # on shard 1 of 2
SECOND_GUILD_ID = 920000000004194405  # on shard 0 of 2: (id >> 22) % shard count, as Discord routes them
CHANNEL_ID = 920000000000000010
AUDIT_CHANNEL_ID = 920000000000000011
FEEDBACK_CHANNEL_ID = 920000000000000012
DM_CHANNEL_ID = 920000000000000020
MOD_ROLE_ID = 920000000000000030
MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 31)  # view channel, send messages, use application commands

BODY = web.RequestKey("body", object)

# Message-bearing interaction callback types: channel message (4) and update message (7).
_MESSAGE_CALLBACKS = {4, 7}


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float
    status: int = 200


@dataclass
class InteractionLog:
    id: int
    token: str
    type: int
    user_id: int
    created: float
    channel_id: int
    message_id: int | None = None
    response_message: dict | None = None
    callbacks: list[tuple[float, dict]] = field(default_factory=list)
    followups: list[tuple[float, dict, dict]] = field(default_factory=list)  # (time, body, message)
    edits: list[tuple[float, dict]] = field(default_factory=list)

    @property
    def first_ack(self) -> float | None:
        return self.callbacks[0][0] - self.created if self.callbacks else None

    def replies(self) -> list[dict]:
        """Every message body the bot produced for this interaction, in order (defers excluded)."""
        out = [body["data"] for _, body in self.callbacks if body.get("type") in _MESSAGE_CALLBACKS]
        out += [body for _, body, _ in self.followups]
        out += [body for _, body in self.edits]
        return out

    def reply_messages(self) -> list[dict]:
        return [message for _, _, message in self.followups]


def _user(user_id: int, name: str, *, bot: bool = False) -> dict:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "flags": 0,
        "public_flags": 0,
    }


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py requires exactly "application/json" (no charset parameter).
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json", headers=headers)


def _too_many_requests(retry_after: float) -> web.Response:
    # A route's 429 as Discord sends it (the "Via" header tells discord.py it is not a Cloudflare ban).
    return _json(
        {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
        status=429,
        headers={"Via": "1.1 google"},
    )


class FakeDiscord:
    def __init__(
        self,
        *,
        rest_429_share: float = 0.0,
        rest_429_retry_after: float = 0.25,
        seed: int = 0,
        guilds: tuple[int, ...] = (GUILD_ID,),
    ) -> None:
        """``rest_429_share``: the share of REST calls (any ``/api/`` request) answered at random with a 429
        carrying ``rest_429_retry_after`` seconds, drawn from a generator seeded with ``seed`` (off by default).
        ``guilds``: the servers the bot is in; a bot that identifies as shard k of n is sent those of shard k only,
        and each event goes to the connection of its server's shard (direct messages to shard 0)."""
        self.guilds = guilds
        self.shard_count = 1
        self.ready_shards: set[int] = set()
        self._sockets: dict[int, web.WebSocketResponse] = {}
        self.requests: list[Request] = []
        self.commands: list[dict] = []
        self.messages: dict[int, dict] = {}
        self.interactions: dict[int, InteractionLog] = {}
        self.attachments: dict[str, bytes] = {}
        self.identifies: list[dict] = []
        self.resumes = 0
        self.refuse_handshakes = 0  # gateway handshakes to fail (HTTP 502 instead of the upgrade) before accepting
        self.refused_handshakes = 0
        self.threads: dict[int, dict] = {}
        self.rate_limits: list[dict] = []  # {"method", "pattern", "retry_after", "times", "hits": [t...]}
        self.rest_429_share = rest_429_share
        self.rest_429_retry_after = rest_429_retry_after
        self._random = random.Random(seed)
        self.bot_user = _user(BOT_ID, "Archivist", bot=True)
        self._ids = itertools.count(930000000000000001)
        self._seq = 0
        self._ws: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_get("/attachments/{aid}/{name}", self._attachment)
        r = app.router
        base = "/api/v10"
        r.add_get(base + "/users/@me", lambda req: _json(self.bot_user))
        r.add_get(base + "/oauth2/applications/@me", self._application)
        r.add_put(base + "/applications/{app}/commands", self._sync_commands)
        r.add_post(base + "/interactions/{iid}/{token}/callback", self._callback)
        r.add_post(base + "/webhooks/{app}/{token}", self._followup)
        r.add_get(base + "/webhooks/{app}/{token}/messages/{mid}", self._get_webhook_message)
        r.add_patch(base + "/webhooks/{app}/{token}/messages/{mid}", self._edit_webhook_message)
        r.add_delete(base + "/webhooks/{app}/{token}/messages/{mid}", lambda req: web.Response(status=204))
        r.add_post(base + "/channels/{cid}/messages", self._create_message)
        r.add_patch(base + "/channels/{cid}/messages/{mid}", self._edit_message)
        r.add_post(base + "/channels/{cid}/typing", lambda req: web.Response(status=204))
        r.add_post(base + "/channels/{cid}/messages/{mid}/threads", self._create_thread)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ recording

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body and request.content_type == "application/json":
            body = await request.json()
        record = Request(request.method, request.path, dict(request.query), body, time.monotonic())
        self.requests.append(record)
        for rule in self.rate_limits:
            if rule["times"] > 0 and rule["method"] == request.method and re.search(rule["pattern"], request.path):
                rule["times"] -= 1
                rule["hits"].append(record.at)
                record.status = 429
                return _too_many_requests(rule["retry_after"])
        if request.path.startswith("/api/") and self._random.random() < self.rest_429_share:
            record.status = 429
            return _too_many_requests(self.rest_429_retry_after)
        request[BODY] = body
        return await handler(request)

    def rate_limit(self, method: str, pattern: str, retry_after: float, times: int = 1) -> dict:
        """Answer the next ``times`` matching requests with a 429 carrying ``retry_after``."""
        rule = {"method": method, "pattern": pattern, "retry_after": retry_after, "times": times, "hits": []}
        self.rate_limits.append(rule)
        return rule

    def message_payloads(self) -> list[dict]:
        """Every message body the bot sent or edited (channel messages, follow-ups, edits, callbacks)."""
        out = []
        for req in self.requests:
            if req.status != 200 or not isinstance(req.body, dict):
                continue
            if "/callback" in req.path:
                if req.body.get("type") in _MESSAGE_CALLBACKS:
                    out.append(req.body.get("data") or {})
            elif "/messages" in req.path or req.path.startswith("/api/v10/webhooks/"):
                if req.method in ("POST", "PATCH") and not req.path.endswith("/threads"):
                    out.append(req.body)
        return out

    def channel_messages(self, channel_id: int) -> list[dict]:
        return [
            m for m in self.messages.values() if m["channel_id"] == str(channel_id) and m["author"]["id"] == str(BOT_ID)
        ]

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refused_handshakes < self.refuse_handshakes:
            self.refused_handshakes += 1
            return web.Response(status=502, text="gateway unavailable")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                self.identifies.append(payload["d"])
                shard, count = payload["d"].get("shard") or (0, 1)
                self.shard_count = count
                self._sockets[shard] = ws
                if shard != 0 and self._ws is ws:
                    self._ws = self._sockets.get(0)
                await self._ready(ws, shard, count)
            elif op == 6:
                self.resumes += 1
                await self._send(ws, "RESUMED", {})
                self._connected.set()
        for shard in [k for k, v in self._sockets.items() if v is ws]:
            del self._sockets[shard]
            self.ready_shards.discard(shard)
        if self._ws is ws:
            self._ws = None
            self._connected.clear()
        return ws

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict) -> None:
        self._seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def _ready(self, ws: web.WebSocketResponse, shard: int = 0, count: int = 1) -> None:
        guilds = [guild for guild in self.guilds if (guild >> 22) % count == shard]
        await self._send(
            ws,
            "READY",
            {
                "v": 10,
                "user": self.bot_user,
                "guilds": [{"id": str(guild), "unavailable": True} for guild in guilds],
                "session_id": "fake-session",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(APP_ID), "flags": 0},
                "private_channels": [],
            },
        )
        for guild in guilds:
            await self._send(ws, "GUILD_CREATE", self.guild_payload(guild))
        self.ready_shards.add(shard)
        self._connected.set()

    def guild_payload(self, guild_id: int = GUILD_ID) -> dict:
        if guild_id != GUILD_ID:  # another server: one channel, no moderator role
            payload = self.guild_payload()
            payload["id"] = payload["roles"][0]["id"] = str(guild_id)
            payload["name"] = f"Fake Guild {guild_id}"
            payload["roles"] = payload["roles"][:1]
            general = {**payload["channels"][0], "id": str(guild_id + 9), "guild_id": str(guild_id)}
            payload["channels"] = [general]
            return payload

        def channel(cid: int, name: str, position: int) -> dict:
            return {
                "id": str(cid),
                "type": 0,
                "name": name,
                "position": position,
                "guild_id": str(GUILD_ID),
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            }

        return {
            "id": str(GUILD_ID),
            "name": "Fake Guild",
            "owner_id": "1",
            "unavailable": False,
            "member_count": 3,
            "large": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "roles": [
                {
                    "id": str(GUILD_ID),
                    "name": "@everyone",
                    "permissions": str(MEMBER_PERMISSIONS),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
                {
                    "id": str(MOD_ROLE_ID),
                    "name": "Archive Mods",
                    "permissions": str(MEMBER_PERMISSIONS),
                    "position": 1,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
            ],
            "channels": [
                channel(CHANNEL_ID, "general", 0),
                channel(AUDIT_CHANNEL_ID, "audit", 1),
                channel(FEEDBACK_CHANNEL_ID, "feedback", 2),
            ],
            "threads": [],
            "members": [self._member(BOT_ID, "Archivist", bot=True)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
        }

    def _member(
        self, user_id: int, name: str, *, bot: bool = False, roles: list[int] = (), permissions: int = 0
    ) -> dict:
        return {
            "user": _user(user_id, name, bot=bot),
            "roles": [str(r) for r in roles],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "permissions": str(permissions),
        }

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def wait_shards(self, count: int, timeout: float = 60.0) -> None:
        """Until ``count`` shards have identified and been sent their servers."""
        await self.wait_until(lambda: self.ready_shards == set(range(count)), timeout)

    async def dispatch(self, event: str, data: dict) -> None:
        await self.wait_connected()
        ws = self._ws
        if len(self._sockets) > 1:
            guild = data.get("guild_id")
            ws = self._sockets[(int(guild) >> 22) % self.shard_count if guild else 0]
        assert ws is not None
        await self._send(ws, event, data)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's gateway socket from the server side."""
        assert self._ws is not None
        ws = self._ws
        self._connected.clear()
        await ws.close(code=code, message=b"server closed")

    # ------------------------------------------------------------------ driving the bot

    def _new_id(self) -> int:
        return next(self._ids)

    async def interact(
        self,
        itype: int,
        data: dict,
        *,
        user_id: int = 1001,
        user_name: str = "alice",
        permissions: int = MEMBER_PERMISSIONS,
        roles: list[int] = (),
        channel_id: int = CHANNEL_ID,
        in_guild: bool = True,
        guild_id: int = GUILD_ID,
        message: dict | None = None,
    ) -> InteractionLog:
        iid = self._new_id()
        token = f"tok-{iid}"
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(APP_ID),
            "type": itype,
            "token": token,
            "version": 1,
            "attachment_size_limit": 26214400,
            "app_permissions": "0",
            "locale": "en-US",
            "data": data,
            "channel_id": str(channel_id),
            "entitlements": [],
            "authorizing_integration_owners": {},
        }
        if in_guild:
            payload["guild_id"] = str(guild_id)
            payload["guild_locale"] = "en-US"
            payload["channel"] = {
                "id": str(channel_id),
                "type": 0,
                "guild_id": str(guild_id),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            }
            payload["member"] = self._member(user_id, user_name, roles=list(roles), permissions=permissions)
            payload["context"] = 0
        else:
            payload["channel"] = {"id": str(channel_id), "type": 1, "recipients": [_user(user_id, user_name)]}
            payload["user"] = _user(user_id, user_name)
            payload["context"] = 1
        if message is not None:
            payload["message"] = message
        log = InteractionLog(
            iid, token, itype, user_id, time.monotonic(), channel_id, int(message["id"]) if message else None
        )
        self.interactions[iid] = log
        await self.dispatch("INTERACTION_CREATE", payload)
        return log

    def command_id(self, name: str) -> str:
        return next(c["id"] for c in self.commands if c["name"] == name)

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        attachments: dict[str, dict] | None = None,
        **kwargs: Any,
    ) -> InteractionLog:
        """Invoke a slash command; ``attachments`` maps option names to objects from ``add_attachment``."""
        opts = [{"name": k, "type": _option_type(v), "value": v} for k, v in (options or {}).items()]
        data: dict[str, Any] = {"id": self.command_id(name), "name": name, "type": 1, "options": opts}
        if attachments:
            opts += [{"name": k, "type": 11, "value": a["id"]} for k, a in attachments.items()]
            data["resolved"] = {"attachments": {a["id"]: a for a in attachments.values()}}
        return await self.interact(2, data, **kwargs)

    async def autocomplete(self, name: str, options: dict[str, Any], focused: str, **kwargs: Any) -> InteractionLog:
        opts = []
        for k, v in options.items():
            opt = {"name": k, "type": _option_type(v), "value": v}
            if k == focused:
                opt["focused"] = True
                opt["type"] = 3
            opts.append(opt)
        data = {"id": self.command_id(name), "name": name, "type": 1, "options": opts}
        return await self.interact(4, data, **kwargs)

    async def click(self, message: dict, custom_id: str, **kwargs: Any) -> InteractionLog:
        data = {"custom_id": custom_id, "component_type": 2}
        return await self.interact(3, data, message=message, **kwargs)

    async def choose(self, message: dict, custom_id: str, values: list[str], **kwargs: Any) -> InteractionLog:
        data = {"custom_id": custom_id, "component_type": 3, "values": values}
        return await self.interact(3, data, message=message, **kwargs)

    def add_attachment(self, filename: str, content: bytes) -> dict:
        aid = str(self._new_id())
        self.attachments[aid] = content
        url = f"http://127.0.0.1:{self.port}/attachments/{aid}/{quote(filename, safe='')}"
        return {
            "id": aid,
            "filename": filename,
            "size": len(content),
            "url": url,
            "proxy_url": url,
            "content_type": "application/octet-stream",
        }

    async def user_message(
        self,
        content: str,
        *,
        user_id: int = 1001,
        user_name: str = "alice",
        channel_id: int = CHANNEL_ID,
        in_guild: bool = True,
        mention_bot: bool = False,
    ) -> dict:
        mid = self._new_id()
        message = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": _user(user_id, user_name),
            "content": content,
            "timestamp": "2024-06-01T12:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [self.bot_user] if mention_bot else [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }
        if in_guild:
            message["guild_id"] = str(GUILD_ID)
            message["member"] = {k: v for k, v in self._member(user_id, user_name).items() if k != "user"}
        self.messages[mid] = message
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def replies_to(self, message: dict) -> list[dict]:
        return [
            m
            for m in self.messages.values()
            if str((m.get("message_reference") or {}).get("message_id")) == message["id"]
        ]

    # ------------------------------------------------------------------ REST handlers

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(APP_ID),
                "name": "Archivist",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": _user(1, "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def _sync_commands(self, request: web.Request) -> web.Response:
        commands = []
        for cmd in request[BODY]:
            stored = {"id": str(self._new_id()), "application_id": str(APP_ID), "version": "1", "type": 1, **cmd}
            stored.setdefault("options", [])
            stored.setdefault("default_member_permissions", None)
            stored.setdefault("nsfw", False)
            commands.append(stored)
        self.commands = commands
        return _json(commands)

    def _message(self, channel_id: int | str, body: dict, *, flags: int = 0, mid: int | None = None) -> dict:
        mid = mid or self._new_id()
        message = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": self.bot_user,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "timestamp": "2024-06-01T12:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "pinned": False,
            "type": 0,
            "flags": flags | int(body.get("flags") or 0),
            "application_id": str(APP_ID),
        }
        if int(channel_id) != DM_CHANNEL_ID:
            message["guild_id"] = str(GUILD_ID)
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
        self.messages[mid] = message
        return message

    def _interaction(self, request: web.Request) -> InteractionLog:
        token = request.match_info["token"]
        return next(i for i in self.interactions.values() if i.token == token)

    async def _callback(self, request: web.Request) -> web.Response:
        log = self._interaction(request)
        body = request[BODY]
        log.callbacks.append((time.monotonic(), body))
        ctype = body["type"]
        if ctype in (6, 8):
            return (
                web.Response(status=204)
                if "with_response" not in request.query
                else _json({"interaction": {"id": str(log.id), "type": log.type}, "resource": {"type": ctype}})
            )
        data = body.get("data") or {}
        ephemeral = bool(int(data.get("flags") or 0) & 64)
        if ctype == 7:
            original = self.messages[log.message_id]
            original.update({k: v for k, v in data.items() if k in ("content", "embeds", "components")})
            message = original
        else:
            message = self._message(log.channel_id, data if ctype == 4 else {"flags": data.get("flags", 0)})
        log.response_message = message
        return _json(
            {
                "interaction": {
                    "id": str(log.id),
                    "type": log.type,
                    "response_message_id": message["id"],
                    "response_message_loading": ctype == 5,
                    "response_message_ephemeral": ephemeral,
                },
                "resource": {"type": ctype, "message": message},
            }
        )

    async def _followup(self, request: web.Request) -> web.Response:
        log = self._interaction(request)
        body = request[BODY]
        message = self._message(log.channel_id, body)
        log.followups.append((time.monotonic(), body, message))
        return _json(message)

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        log = self._interaction(request)
        return _json(self._message(log.channel_id, {}))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        log = self._interaction(request)
        body = request[BODY]
        log.edits.append((time.monotonic(), body))
        return _json(self._message(log.channel_id, body))

    async def _create_message(self, request: web.Request) -> web.Response:
        return _json(self._message(request.match_info["cid"], request[BODY] or {}))

    async def _edit_message(self, request: web.Request) -> web.Response:
        mid = int(request.match_info["mid"])
        message = self.messages[mid]
        body = request[BODY] or {}
        message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        message["edited_timestamp"] = "2024-06-01T12:00:01+00:00"
        message.setdefault("edits", []).append(body)
        return _json(message)

    async def _create_thread(self, request: web.Request) -> web.Response:
        body = request[BODY]
        tid = int(request.match_info["mid"])  # like Discord: a message's thread has the message's id
        thread = {
            "id": str(tid),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": request.match_info["cid"],
            "name": body["name"],
            "owner_id": str(BOT_ID),
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": "2024-06-01T12:00:00+00:00",
                "locked": False,
            },
        }
        self.threads[tid] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _attachment(self, request: web.Request) -> web.Response:
        aid = request.match_info["aid"]
        if aid not in self.attachments:
            return web.Response(status=404)
        return web.Response(body=self.attachments[aid], content_type="application/octet-stream")


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 3


# ---------------------------------------------------------------------- checks on what the bot sent


def limit_problems(body: dict) -> list[str]:
    """Every way a message body breaks one of Discord's size limits."""
    problems = []
    content = body.get("content") or ""
    if utf16_length(content) > 2000:
        problems.append(f"content {utf16_length(content)} > 2000")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds > 10")
    total = 0
    for embed in embeds:
        for key, limit in (("title", 256), ("description", 4096)):
            n = utf16_length(embed.get(key) or "")
            total += n
            if n > limit:
                problems.append(f"embed {key} {n} > {limit}")
        for key, limit in (("footer", 2048), ("author", 256)):
            n = utf16_length((embed.get(key) or {}).get("text" if key == "footer" else "name") or "")
            total += n
            if n > limit:
                problems.append(f"embed {key} {n} > {limit}")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append(f"{len(fields)} fields > 25")
        for f in fields:
            name, value = utf16_length(f.get("name") or ""), utf16_length(f.get("value") or "")
            total += name + value
            if not f.get("name") or not f.get("value"):
                problems.append("empty field name or value")
            if name > 256 or value > 1024:
                problems.append(f"field {name}/{value} over 256/1024")
    if total > 6000:
        problems.append(f"embeds total {total} > 6000")
    for row in body.get("components") or []:
        for comp in row.get("components", []):
            if utf16_length(comp.get("label") or "") > 80:
                problems.append("button label > 80")
            if len(comp.get("custom_id") or "") > 100:
                problems.append("custom_id > 100")
            for option in comp.get("options") or []:
                if utf16_length(option["label"]) > 100:
                    problems.append("select option label > 100")
    for choice in body.get("choices") or []:
        if not 1 <= utf16_length(choice["name"]) <= 100 or utf16_length(str(choice["value"])) > 100:
            problems.append(f"bad choice {choice!r}")
    if len(body.get("choices") or []) > 25:
        problems.append("more than 25 choices")
    return problems


def mention_problems(body: dict) -> list[str]:
    allowed = body.get("allowed_mentions")
    if allowed is None:
        return ["no allowed_mentions"]
    problems = []
    if allowed.get("parse") != []:
        problems.append(f"allowed_mentions.parse = {allowed.get('parse')!r}")
    if allowed.get("users") or allowed.get("roles") or allowed.get("replied_user"):
        problems.append(f"allowed_mentions allows {allowed!r}")
    return problems


def buttons(message: dict) -> dict[str, str]:
    """label or emoji -> custom_id for every component of a message body."""
    found = {}
    for row in message.get("components") or []:
        for comp in row.get("components", []):
            key = comp.get("label") or (comp.get("emoji") or {}).get("name") or comp.get("placeholder")
            found[key] = comp.get("custom_id")
    return found


def message_text(body: dict) -> str:
    """All the text a reader would see in a message body: content, and every embed's parts."""
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name')}\n{f.get('value')}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(p for p in parts if p)


def is_ephemeral(body: dict) -> bool:
    return bool(int(body.get("flags") or 0) & 64)
