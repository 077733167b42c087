"""The server-side SVG balance chart: geometry, labels, and escaping (no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from wallets.admin.display import CHART_HEIGHT, balance_chart_svg

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_step_path_spans_the_plot_and_zero_sits_between_high_and_low():
    points = [(T0, Decimal("0")), (T0 + timedelta(hours=1), Decimal("100")), (T0 + timedelta(hours=2), Decimal("-50"))]

    svg = str(balance_chart_svg(points))

    # x: 90..748 over two hours; y: 100 at the top (14), -50 at the bottom (192), 0 two thirds down.
    assert 'd="M90,132H419V14H748V192"' in svg
    assert '<line class="zero" x1="90" y1="132" x2="748" y2="132"/>' in svg
    assert [label in svg for label in (">100</text>", ">0</text>", ">-50</text>")] == [True] * 3
    assert svg.count("<circle ") == 3
    assert f'viewBox="0 0 760 {CHART_HEIGHT}"' in svg


def test_flat_history_does_not_divide_by_zero():
    svg = str(balance_chart_svg([(T0, Decimal("0")), (T0, Decimal("0"))]))

    assert 'd="M90,14H90V14"' in svg


def test_one_point_is_not_a_chart():
    assert "Not enough ledger history" in str(balance_chart_svg([(T0, Decimal("5"))]))
