"""The per-layer TL schemas and codec: Telethon's and Kurigram's own (de)serializers are the judges."""

from __future__ import annotations

import struct
from io import BytesIO
from pathlib import Path

import pytest
from telethon.extensions import BinaryReader
from telethon.tl import functions as F
from telethon.tl import types as T

from botfakes.fakes.mtproto import tl
from botfakes.fakes.mtproto.tl import generate
from botfakes.fakes.mtproto.tl.bridge import to_model
from botfakes.fakes.mtproto.tl.parser import SchemaError, parse

NOW = 1_700_000_000


def answers() -> list:
    """What the fake answers with: users, channels, messages, updates, config, history pages."""
    me = T.User(id=7000000001, is_self=True, access_hash=11, first_name="User", username="user_1",
                phone="15550000009", status=T.UserStatusRecently())
    bot = T.User(id=7000000003, bot=True, bot_info_version=1, access_hash=12, first_name="Bot",
                 username="trending_bot")
    channel = T.Channel(id=2000000001, title="Crypto Signals", photo=T.ChatPhotoEmpty(), date=NOW,
                        broadcast=True, access_hash=99, username="crypto_signals")
    post = T.Message(id=40, peer_id=T.PeerChannel(channel.id), date=NOW, message="$BTC #ETF",
                     post=True, views=140, forwards=5)
    private = T.Message(id=1, peer_id=T.PeerUser(me.id), date=NOW, message="gm", out=True,
                        from_id=T.PeerUser(me.id))
    return [
        me, bot, channel, post, private,
        T.Updates(updates=[T.UpdateNewChannelMessage(post, 41, 1)], users=[], chats=[channel],
                  date=NOW, seq=0),
        T.UpdateShortSentMessage(id=1, pts=2, pts_count=1, date=NOW, out=True),
        T.messages.ChannelMessages(pts=41, count=40, messages=[post], topics=[], chats=[channel], users=[]),
        T.messages.Messages(messages=[private], topics=[], chats=[], users=[me]),
        T.updates.State(pts=1, qts=0, date=NOW, seq=0, unread_count=0),
        T.Config(date=NOW, expires=NOW + 3600, test_mode=False, this_dc=2,
                 dc_options=[T.DcOption(id=2, ip_address="127.0.0.1", port=8443)],
                 dc_txt_domain_name="localhost", chat_size_max=200, megagroup_size_max=200000,
                 forwarded_count_max=100, online_update_period_ms=1, offline_blur_timeout_ms=1,
                 offline_idle_timeout_ms=1, online_cloud_timeout_ms=1, notify_cloud_delay_ms=1,
                 notify_default_delay_ms=1, push_chat_period_ms=1, push_chat_limit=2,
                 edit_time_limit=1, revoke_time_limit=1, revoke_pm_time_limit=1, rating_e_decay=1,
                 stickers_recent_limit=1, channels_read_media_period=1, call_receive_timeout_ms=1,
                 call_ring_timeout_ms=1, call_connect_timeout_ms=1, call_packet_timeout_ms=1,
                 me_url_prefix="https://t.me/", caption_length_max=1024, message_length_max=4096,
                 webfile_dc_id=2),
    ]


def test_the_fake_has_the_layers_of_gramjs_telethon_and_kurigram():
    from pyrogram.raw.all import layer as kurigram_layer
    from telethon.tl.alltlobjects import LAYER as telethon_layer

    assert tl.LAYERS == (198, 229)
    assert {telethon_layer, kurigram_layer} == {229}
    assert len(tl.schema(198).by_id) > 2000 and len(tl.schema(229).by_id) > 2000


@pytest.mark.parametrize("answer", answers(), ids=lambda a: type(a).__name__)
def test_layer_229_encodes_byte_for_byte_what_telethon_does(answer):
    assert tl.codec(229).encode_object(answer) == bytes(answer)


@pytest.mark.parametrize("answer", answers(), ids=lambda a: type(a).__name__)
def test_layer_229_answers_read_back_in_kurigram(answer):
    from pyrogram.raw.core import TLObject as KurigramObject

    data = tl.codec(229).encode_object(answer)
    decoded = KurigramObject.read(BytesIO(data))
    assert decoded.ID == answer.CONSTRUCTOR_ID


@pytest.mark.parametrize("answer", answers(), ids=lambda a: type(a).__name__)
def test_layer_198_uses_the_constructors_of_198(answer):
    data = tl.codec(198).encode_object(answer)
    decoded = tl.codec(198).decode(data)
    ctor = tl.schema(198).named(decoded.name)
    assert struct.unpack_from("<I", data)[0] == ctor.id
    assert decoded.name == tl.schema(229).by_id[answer.CONSTRUCTOR_ID].name


def test_user_differs_between_198_and_229_and_each_layer_gets_its_own():
    user = answers()[0]
    ids = {layer: struct.unpack_from("<I", tl.codec(layer).encode_object(user))[0] for layer in tl.LAYERS}
    assert ids == {198: 0x4B46C37E, 229: 0xB1B8CC83}


def test_requests_decode_to_the_telethon_objects_the_handlers_take():
    requests = [
        F.InvokeWithLayerRequest(229, F.InitConnectionRequest(
            api_id=1, device_model="d", system_version="s", app_version="a", system_lang_code="en",
            lang_pack="", lang_code="en", query=F.help.GetConfigRequest())),
        F.messages.SendMessageRequest(peer=T.InputPeerUser(1, 2), message="hello", random_id=5),
        F.messages.GetHistoryRequest(peer=T.InputPeerChannel(3, 4), offset_id=0, offset_date=None,
                                     add_offset=0, limit=100, max_id=0, min_id=0, hash=0),
        F.users.GetUsersRequest([T.InputUserSelf()]),
    ]
    for request in requests:
        model = to_model(tl.codec(229).decode(bytes(request)))
        assert type(model) is type(request) and bytes(model) == bytes(request)


def test_invoke_with_layer_switches_the_inner_query_to_the_declared_layer():
    send_198 = tl.codec(198).encode_object(tl.TL("messages.sendMessage", {
        "peer": tl.TL("inputPeerSelf"), "message": "hi", "random_id": 7}))
    assert struct.unpack_from("<I", send_198)[0] == tl.schema(198).named("messages.sendMessage").id
    wrapped = struct.pack("<Ii", 0xDA9B0D0D, 198) + send_198
    decoded = tl.codec(229).decode(wrapped)
    assert decoded["layer"] == 198 and decoded["query"].name == "messages.sendMessage"
    model = to_model(decoded)
    assert isinstance(model.query, F.messages.SendMessageRequest) and model.query.message == "hi"


def test_an_unknown_layer_is_named():
    wrapped = struct.pack("<Ii", 0xDA9B0D0D, 201) + bytes(F.help.GetConfigRequest())
    with pytest.raises(tl.UnknownLayer, match="layer 201 is not served by the fake \\(it has 198, 229\\)"):
        tl.codec(229).decode(wrapped)


def test_a_constructor_the_layer_lacks_is_refused_both_ways():
    send_229 = bytes(F.messages.SendMessageRequest(peer=T.InputPeerSelf(), message="x", random_id=1))
    with pytest.raises(tl.UnknownConstructor, match=f"{F.messages.SendMessageRequest.CONSTRUCTOR_ID:#010x} is not in layer 198"):
        tl.codec(198).decode(send_229)
    only_229 = T.MessageMediaToDo(todo=T.TodoList(title=T.TextWithEntities("t", []), list=[]))
    with pytest.raises(tl.EncodeError, match="messageMediaToDo is not in layer 198"):
        tl.codec(198).encode_object(only_229)


def test_truncated_objects_are_truncated_errors():
    data = bytes(F.messages.SendMessageRequest(peer=T.InputPeerSelf(), message="hello", random_id=1))
    for cut in (3, 8, len(data) - 1):
        with pytest.raises(tl.Truncated):
            tl.codec(229).decode(data[:cut])
    huge_vector = bytes(F.users.GetUsersRequest([]))[:4] + struct.pack("<Ii", 0x1CB5C415, 1 << 30)
    with pytest.raises(tl.Truncated, match="a vector of 1073741824 items"):
        tl.codec(229).decode(huge_vector)


def test_hostile_nesting_is_a_tl_error_not_a_recursion_error():
    nested = struct.pack("<I", tl.schema(229).named("inputPeerUserFromMessage").id) * 10_000
    with pytest.raises(tl.TLError, match="objects nested more than 64 deep"):
        tl.codec(229).decode(nested)


def test_telethon_reads_what_layer_229_decoded_and_reencoded():
    for answer in answers():
        again = tl.codec(229).encode_object(tl.codec(229).decode(bytes(answer)))
        with BinaryReader(again) as reader:
            assert bytes(reader.tgread_object()) == bytes(answer)


def test_schema_text_errors_name_the_line():
    with pytest.raises(SchemaError, match="line 2: not a TL constructor"):
        parse("user#1 id:long = User;\nthis is not tl\n", 1)
    with pytest.raises(SchemaError, match="line 1: user has no #id"):
        parse("user id:long = User;\n", 1)


def test_the_generator_rebuilds_the_shipped_schemas(tmp_path):
    if not (generate.DEFAULT_GRAMJS / "tl/apiTl.js").exists():
        pytest.skip("GramJS not installed: cd tests/integration/mtproto/js && npm install")
    assert generate.main(["--out", str(tmp_path)]) == 0
    shipped = Path(generate.__file__).parent
    for name in ("layer198.tl", "layer229.tl"):
        assert (tmp_path / name).read_text() == (shipped / name).read_text(), name
