"""axe-core in the browser tests: which WCAG 2.1 A/AA rules a page breaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

# Vendored for the tests only; loaded with BrowserContext.add_init_script(path=AXE).
AXE = Path(__file__).parent / "web" / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def wcag_violations(page: Page) -> list[dict[str, Any]]:
    """The current document's WCAG 2.1 A and AA violations, as rule, help and elements."""
    violations: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return results.violations.map((violation) => ({
                id: violation.id,
                help: violation.help,
                nodes: violation.nodes.map((node) => node.target.join(" ")),
            }));
        }""",
        WCAG_21_AA,
    )
    return violations
