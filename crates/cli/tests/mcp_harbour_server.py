"""An MCP server on the official Python SDK whose tool list grows while it runs: calling
`unlock` adds the tool `berth` and sends notifications/tools/list_changed, as a server
does when its tools change. jada's MCP client test runs it over stdio."""

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("harbour")


def berth(boat: str) -> str:
    """The berth a boat is given."""
    return f"{boat}: berth 7"


@server.tool()
async def unlock(ctx: Context) -> str:
    """Makes the berth tool available."""
    server.add_tool(berth, name="berth")
    await ctx.session.send_tool_list_changed()
    return "unlocked"


if __name__ == "__main__":
    server.run("stdio")
