"""``memcore mcp`` answers every request line: one holding a lone UTF-16 surrogate escape (what
JavaScript's ``JSON.stringify`` writes for a string cut inside an emoji) is served with U+FFFD in
its place, and one that is not JSON, or nested too deeply to be read, gets a JSON-RPC error, where
the SDK alone dropped them without a word and left the client waiting for its timeout."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memcore.claude_code.mcp_stdio import check_line, whole_characters

WAIT = 10.0  # seconds a reply may take (they come in well under one)


class _Server:
    """``memcore mcp`` spoken to line by line, its replies read by a thread."""

    def __init__(self, tmp_path: Path) -> None:
        env = dict(os.environ)
        env.update(
            HOME=str(tmp_path / "home"),
            MEMCORE_HOME=str(tmp_path / "memcore-home"),
            XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        )
        env.pop("CLAUDE_PROJECT_DIR", None)
        project = tmp_path / "project"
        project.mkdir()
        url = f"sqlite:///{tmp_path / 'memory.db'}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "memcore", "mcp", "--store", url, "--project", str(project)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=project,
        )
        self.replies: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)

    def send(self, line: str | bytes) -> None:
        assert self.process.stdin is not None
        data = line.encode() if isinstance(line, str) else line
        self.process.stdin.write(data + b"\n")
        self.process.stdin.flush()

    def reply(self) -> dict[str, Any]:
        try:
            line = self.replies.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no reply within {WAIT} s") from None
        reply: dict[str, Any] = json.loads(line)
        return reply

    def request(self, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        self.send(json.dumps(message))
        reply = self.reply()
        assert reply["id"] == request_id, reply
        return reply

    def call(self, request_id: int, tool: str, arguments: dict[str, Any]) -> str:
        reply = self.request(request_id, "tools/call", {"name": tool, "arguments": arguments})
        assert "error" not in reply, reply
        assert not reply["result"].get("isError"), reply
        text: str = reply["result"]["content"][0]["text"]
        return text

    def close(self) -> tuple[int, str]:
        """Close stdin: the server exits, with its code and stderr."""
        assert self.process.stdin is not None
        assert self.process.stderr is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=30)
        return code, self.process.stderr.read().decode("utf-8", "replace")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    pytest.importorskip("mcp")
    started = _Server(tmp_path)
    try:
        reply = started.request(
            0,
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "probe", "version": "1"},
            },
        )
        assert reply["result"]["serverInfo"]["name"] == "memcore", reply
        started.send('{"jsonrpc":"2.0","method":"notifications/initialized"}')
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
            started.process.wait(timeout=30)


def _call_line(request_id: int, tool: str, arguments_json: str) -> str:
    """A ``tools/call`` line with ``arguments_json`` written as is (escapes and all)."""
    return (
        f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call",'
        f'"params":{{"name":"{tool}","arguments":{arguments_json}}}}}'
    )


def _tool_text(reply: dict[str, Any]) -> str:
    assert "error" not in reply, reply
    assert not reply["result"].get("isError"), reply
    text: str = reply["result"]["content"][0]["text"]
    return text


def test_lone_surrogates_are_served_and_bad_lines_answered(server: _Server) -> None:
    # recall of a lone high surrogate: served (it was dropped, the client waiting for ever)
    server.send(_call_line(1, "recall", r'{"query":"\ud800"}'))
    reply = server.reply()
    assert reply["id"] == 1
    assert "Nothing in this project's memory matches" in _tool_text(reply)

    # remember with a lone surrogate inside: kept with U+FFFD in its place; an escaped
    # backslash before "ud800" is text, not an escape, and stays as written
    server.send(_call_line(2, "remember", r'{"content":"zebrafish x\ud800y and \\ud800 kept"}'))
    reply = server.reply()
    assert reply["id"] == 2
    assert _tool_text(reply).startswith("remembered as note:")
    found = server.call(3, "recall", {"query": "zebrafish"})
    assert "zebrafish x\ufffdy and \\ud800 kept" in found, found

    # a lone low surrogate and a high one before a whole pair
    server.send(_call_line(4, "recall", r'{"query":"a\udc00b \ud83d\ud83d\ude00"}'))
    reply = server.reply()
    assert reply["id"] == 4
    _tool_text(reply)

    # a valid pair was served before and still is
    server.send(_call_line(5, "remember", r'{"content":"quokka smiles \ud83d\ude00"}'))
    assert _tool_text(server.reply()).startswith("remembered as note:")
    assert "quokka smiles \U0001f600" in server.call(6, "recall", {"query": "quokka"})

    # a line that is not JSON: Parse error, id null
    server.send("this is not json")
    reply = server.reply()
    assert reply["jsonrpc"] == "2.0"
    assert reply["id"] is None
    assert reply["error"]["code"] == -32700
    assert reply["error"]["message"].startswith("Parse error: ")

    # a request cut short (the client died mid-line): Parse error
    server.send('{"jsonrpc":"2.0","id":7,"method":"tools/li')
    reply = server.reply()
    assert reply["id"] is None
    assert reply["error"]["code"] == -32700

    # an array nested 100,000 deep: Parse error, not a crash nor silence
    server.send("[" * 100_000 + "]" * 100_000)
    reply = server.reply()
    assert reply["id"] is None
    assert reply["error"]["code"] == -32700
    assert reply["error"]["message"].startswith("Parse error: ")

    # a request too deep for the SDK's parser but not for Python's: the error has its id
    deep = "[" * 300 + "]" * 300
    server.send(f'{{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{{"x":{deep}}}}}')
    reply = server.reply()
    assert reply["id"] == 8
    assert reply["error"]["code"] == -32700

    # JSON but no JSON-RPC message: Invalid Request, under the request's id
    server.send('{"jsonrpc":"1.0","id":9,"method":"tools/list"}')
    reply = server.reply()
    assert reply["id"] == 9
    assert reply["error"]["code"] == -32600
    server.send("[1, 2]")
    reply = server.reply()
    assert reply["id"] is None
    assert reply["error"]["code"] == -32600

    # undecodable bytes are read as U+FFFD (as the SDK did) and the request served
    server.send(_call_line(10, "recall", '{"query":"caf\xe9"}').encode("latin-1"))
    reply = server.reply()
    assert reply["id"] == 10
    _tool_text(reply)

    # a blank line is no request: nothing is said, and the next request is answered
    server.send("")
    reply = server.request(11, "tools/list", {})
    assert {tool["name"] for tool in reply["result"]["tools"]} >= {"remember", "recall"}
    assert server.replies.empty()

    code, stderr = server.close()
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_a_notification_with_a_lone_surrogate_gets_no_reply(server: _Server) -> None:
    server.send(
        r'{"jsonrpc":"2.0","method":"notifications/cancelled",'
        r'"params":{"requestId":99,"reason":"cut \ud83d"}}'
    )
    reply = server.request(1, "ping", {})
    assert reply == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert server.close()[0] == 0


@pytest.mark.parametrize(
    ("line", "made"),
    [
        (r'"\ud800"', r'"\ufffd"'),
        (r'"\uDBFF\uDFFF"', r'"\uDBFF\uDFFF"'),  # a pair, in capitals
        (r'"\ude00\ud83d"', r'"\ufffd\ufffd"'),  # low then high: no pair
        (r'"\ud83d\ud83d\ude00"', r'"\ufffd\ud83d\ude00"'),
        (r'"\\ud800"', r'"\\ud800"'),  # a backslash, then text
        (r'"\\\ud800"', r'"\\\ufffd"'),  # a backslash, then a lone surrogate
        (r'"\u00e9\n"', r'"\u00e9\n"'),
    ],
)
def test_whole_characters(line: str, made: str) -> None:
    assert whole_characters(line) == made
    json.loads(made).encode("utf-8")  # no lone surrogate is left to encode


def test_check_line_without_the_sdk() -> None:
    assert check_line('{"a": "\\ud800"}\n', None) == ('{"a": "\\ufffd"}\n', None)
    assert check_line(" \r\n", None) == (None, None)
    line, error = check_line("nope", None)
    assert line is None
    assert error is not None
    assert json.loads(error)["error"]["code"] == -32700
