"""dpytest, extended with what it lacks for citebot: threads, command syncs, and a record of allowed_mentions."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import discord
import discord.ext.test as dpytest
from discord.ext.test import backend

_ids = itertools.count(9_000_000_000)


@dataclass
class Sent:
    """What the bot asked Discord to send, as the HTTP payload carried it."""

    channel_id: int
    content: str | None
    embeds: list[dict]
    allowed_mentions: dict | None
    message_id: int | None = None


@dataclass
class Recorder:
    sent: list[Sent] = field(default_factory=list)
    edits: list[Sent] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)
    syncs: list[tuple[str, int | None, list[str]]] = field(default_factory=list)  # ("global" | "guild", id, names)


def install(monkeypatch) -> Recorder:
    """Patch dpytest's fake HTTP client: record every payload, support message threads."""
    recorder = Recorder()
    original_send = backend.FakeHttp.send_message

    async def send_message(self, channel_id, *, params):
        # dpytest reads the target channel from its caller's frame: keep it visible from here.
        channel = backend._get_higher_locs(1).get("channel")  # noqa: F841
        result = await original_send(self, channel_id, params=params)
        payload = params.payload or {}
        recorder.sent.append(Sent(channel_id, payload.get("content"), payload.get("embeds") or [],
                                  payload.get("allowed_mentions"), int(result["id"])))
        return result

    async def start_thread_with_message(self, channel_id, message_id, *, name, auto_archive_duration,
                                        rate_limit_per_user=None, reason=None):
        channel = self.state.get_channel(int(channel_id))
        data = {
            "id": next(_ids), "guild_id": channel.guild.id, "parent_id": channel.id, "owner_id": self.state.user.id,
            "name": name, "type": discord.ChannelType.public_thread.value, "message_count": 0, "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": auto_archive_duration,
                                "archive_timestamp": "2026-01-01T00:00:00+00:00", "locked": False},
        }
        self.state.parse_thread_create(data)
        recorder.threads.append(data["id"])
        return data

    original_edit = backend.FakeHttp.edit_message

    async def edit_message(http, channel_id, message_id, **fields):
        # dpytest reads the edited message as `self` in its caller's frame: keep it visible from here.
        self = backend._get_higher_locs(1).get("self")  # noqa: F841
        result = await original_edit(http, channel_id, message_id, **fields)
        payload = fields["params"].payload or {}
        recorder.edits.append(Sent(channel_id, payload.get("content"), payload.get("embeds") or [],
                                   payload.get("allowed_mentions")))
        return result

    async def bulk_upsert_global_commands(self, application_id, payload):
        recorder.syncs.append(("global", None, [c["name"] for c in payload]))
        return [_registered(application_id, c) for c in payload]

    async def bulk_upsert_guild_commands(self, application_id, guild_id, payload):
        recorder.syncs.append(("guild", guild_id, [c["name"] for c in payload]))
        return [{**_registered(application_id, c), "guild_id": guild_id} for c in payload]

    # On the real client: the command tree keeps the HTTP client of the bot's construction, not dpytest's.
    monkeypatch.setattr(discord.http.HTTPClient, "bulk_upsert_global_commands", bulk_upsert_global_commands)
    monkeypatch.setattr(discord.http.HTTPClient, "bulk_upsert_guild_commands", bulk_upsert_guild_commands)
    monkeypatch.setattr(backend.FakeHttp, "send_message", send_message)
    monkeypatch.setattr(backend.FakeHttp, "edit_message", edit_message)
    monkeypatch.setattr(backend.FakeHttp, "start_thread_with_message", start_thread_with_message)
    return recorder


def _registered(application_id, command: dict) -> dict:
    """Discord's answer for one registered application command."""
    return {"id": next(_ids), "application_id": application_id, "version": next(_ids), "type": 1,
            "description": "", **command}


def configure(bot: discord.Client, members: int, channels: int = 1) -> None:
    """dpytest's configure, plus the application id that Discord gives at login (needed to sync commands)."""
    dpytest.configure(bot, members=members, text_channels=channels)
    bot._connection.application_id = bot.user.id


def mention(bot: discord.Client, text: str) -> str:
    return f"<@{bot.user.id}> {text}"


async def say(content: str, channel=0, member=0) -> discord.Message:
    return await dpytest.message(content, channel=channel, member=member)


class FakeInteraction:
    """A test double of discord.Interaction for the slash commands' callbacks.

    `user` may be a dpytest member (its roles count), `channel` a dpytest channel (its corpus
    answers); `deferred_after` holds the seconds from the interaction's creation to each defer.
    """

    def __init__(self, user_id: int = 4242, *, user=None, channel=None, locale: str = "fr") -> None:
        self.id = next(_ids)
        self.user = user if user is not None else discord.Object(id=user_id)
        self.channel = channel
        self.guild = getattr(channel, "guild", None)
        self.locale = locale
        self.created = time.monotonic()
        self.deferred: list[dict] = []
        self.deferred_after: list[float] = []
        self.followups: list[dict] = []
        self.edits: list[dict] = []
        interaction = self

        class Sent:
            def __init__(self):
                self.id = next(_ids)

            async def edit(self, **kwargs):
                interaction.edits.append(kwargs)

        class Response:
            async def defer(self, **kwargs):
                interaction.deferred_after.append(time.monotonic() - interaction.created)
                interaction.deferred.append(kwargs)

        class Followup:
            async def send(self, content=None, **kwargs):
                assert interaction.deferred, "followup before defer"
                interaction.followups.append({"content": content, **kwargs})
                return Sent() if kwargs.get("wait") else None

        self.response = Response()
        self.followup = Followup()

    @property
    def texts(self) -> list[str]:
        """The text of every followup, and of its last edit where it was edited."""
        return [f["content"] or "" for f in self.followups] + [e.get("content") or "" for e in self.edits[-1:]]


def dpytest_intents() -> discord.Intents:
    """dpytest fakes members through the member cache, which needs the members intent."""
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    return intents


async def make_bot(settings, answerer, queue=8, cooldown=0.0, workers=1, *, members=6, channels=1, corpora=None,
                   conversations=None, like=None, **changes):
    """The bot as `citebot discord` builds it (dependencies first), then set up as start() would.

    `corpora(service, config)` builds the bot's Corpora once dpytest has made the channels (it
    needs their ids); `like`: the RunnerConfig of a bot this one restarts, whose guild, channels,
    members, roles and threads it finds again.
    """
    from bot.discord.bot import CitebotBot
    from bot.discord.worker import AnswerService

    settings = settings.replace(discord_queue=queue, discord_cooldown=cooldown, **changes)
    bot = CitebotBot(settings, AnswerService(answerer, queue, workers), None, conversations,
                     intents=dpytest_intents())
    await bot._async_setup_hook()
    if like is None:
        configure(bot, members=members, channels=channels)
    else:
        reconnect(bot, like)
    if corpora is not None:
        bot.corpora = corpora(bot.service, dpytest.get_config())
    await bot.setup_hook()
    return bot


def reconnect(bot: discord.Client, old) -> None:
    """Configure dpytest for `bot` with the same Discord as `old` (a RunnerConfig): what a restarted bot finds."""
    from discord.ext.test import runner

    backend.configure(bot)
    bot._connection.application_id = bot.user.id
    state = backend.get_state()
    state.stop_dispatch()
    guild = old.guilds[0]
    new_guild = backend.make_guild(guild.name, id_num=guild.id)
    roles = {r.id: backend.make_role(r.name, new_guild, id_num=r.id) for r in guild.roles if r.id != guild.id}
    channels = [backend.make_text_channel(c.name, new_guild, id_num=c.id) for c in old.channels
                if isinstance(c, discord.TextChannel)]
    members = []
    for member in old.members:
        user = backend.make_user(member.name, member.discriminator, id_num=member.id)
        members.append(backend.make_member(user, new_guild, nick=member.nick,
                                           roles=[roles[r.id] for r in member.roles if r.id in roles]))
    backend.make_member(state.user, new_guild)
    for thread in guild.threads:
        state.parse_thread_create({
            "id": thread.id, "guild_id": guild.id, "parent_id": thread.parent_id, "owner_id": thread.owner_id,
            "name": thread.name, "type": discord.ChannelType.public_thread.value, "message_count": 0,
            "member_count": 1, "rate_limit_per_user": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                "archive_timestamp": "2026-01-01T00:00:00+00:00", "locked": False}})
    state.start_dispatch()
    runner._cur_config = runner.RunnerConfig(bot, [new_guild], channels, members)


async def reply(content: str, to: int, channel, member) -> discord.Message:
    """A member's Discord reply to message `to` (message.reference), as dpytest lacks them."""
    from discord.ext.test import factories, runner

    data = factories.make_message_dict(channel, member, content=content, guild_id=channel.guild.id)
    data["message_reference"] = {"message_id": to, "channel_id": channel.id, "guild_id": channel.guild.id}
    data["type"] = discord.MessageType.reply.value
    backend.get_state().parse_message_create(data)
    await runner.run_all_events()
    return backend.get_state()._get_message(data["id"])
