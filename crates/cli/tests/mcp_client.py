"""Drives jada's MCP server with the official Python MCP SDK (`mcp` on PyPI), one
client connection per run, and prints what the server answered as one JSON document.

    mcp_client.py (--stdio DIR --jada BIN [--name NAME] [--read-only] | --http URL [--key KEY])
                  [--mode auto|legacy] COMMAND [ARG...]

COMMAND: tools | call NAME ARGS_JSON | resources | read URI
--mode legacy forces the initialize handshake (protocol versions before 2026-07-28);
auto lets the SDK negotiate (server/discover, 2026-07-28).
"""

import argparse
import asyncio
import json
import sys

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


def transport(a):
    if a.stdio:
        args = ["mcp", "--name", a.name] + (["--read-only"] if a.read_only else [])
        return StdioServerParameters(command=a.jada, args=args, cwd=a.stdio, env={"JADA_LOG": "warn"})
    headers = {"Authorization": f"Bearer {a.key}"} if a.key else {}
    return streamable_http_client(a.http, http_client=httpx2.AsyncClient(headers=headers))


async def run(a):
    async with Client(transport(a), mode=a.mode) as c:
        out = {"protocol": c.protocol_version}
        if a.command == "tools":
            tools = (await c.list_tools()).tools
            out["tools"] = [
                {
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.input_schema,
                    "read_only": bool(t.annotations and t.annotations.read_only_hint),
                }
                for t in tools
            ]
        elif a.command == "call":
            r = await c.call_tool(a.args[0], json.loads(a.args[1]))
            out["is_error"] = bool(r.is_error)
            out["text"] = "".join(getattr(b, "text", "") for b in r.content)
        elif a.command == "resources":
            out["resources"] = [str(r.uri) for r in (await c.list_resources()).resources]
            out["templates"] = [t.uri_template for t in (await c.list_resource_templates()).resource_templates]
        elif a.command == "read":
            try:
                r = await c.read_resource(a.args[0])
                out["text"] = r.contents[0].text
            except Exception as e:  # the server's JSON-RPC error, as the SDK raises it
                out["error"] = str(e)
        return out


def leaves(e):
    """The errors inside (possibly nested) exception groups."""
    inner = getattr(e, "exceptions", None)
    return [x for i in inner for x in leaves(i)] if inner else [e]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--stdio")
    p.add_argument("--jada")
    p.add_argument("--name", default="cli")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--http")
    p.add_argument("--key")
    p.add_argument("--mode", default="auto")
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    a = p.parse_args()
    try:
        out = asyncio.run(run(a))
    except BaseException as e:  # e.g. an HTTP 401 before any MCP exchange
        out = {"failed": " | ".join(f"{type(x).__name__}: {x}" for x in leaves(e))}
    json.dump(out, sys.stdout)


main()
