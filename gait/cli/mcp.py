"""``gait mcp``: where an agent's tool calls meet the gate (proxy, HTTP service, MCP gateway)."""

from __future__ import annotations

from gait.cli.base import GaitGroup

group = GaitGroup(
    name="mcp",
    help="Decide tool calls from agent runtimes: one-shot proxy, HTTP decision service, MCP gateway.",
    explain=(
        "Gate agent tool calls: `mcp proxy` decides one call, `mcp serve` runs an HTTP decision "
        "service, `mcp wrap` puts the gate in front of a real MCP server."
    ),
    lazy={
        "proxy": ("gait.cli.mcp_proxy:proxy", "Decide one tool call payload; never executes it."),
        "bridge": ("gait.cli.mcp_proxy:bridge", "Alias of `mcp proxy`."),
        "serve": ("gait.cli.mcp_serve:command", "Run the HTTP decision service."),
        "wrap": ("gait.cli.mcp_wrap:command", "Gate every tools/call of a wrapped MCP server."),
        "verify": ("gait.cli.mcp_verify:command", "Check MCP server trust against a policy."),
    },
    context_settings={"help_option_names": ["--help", "-h"]},
)
