"""Hypothesis strategies for promotion rules over a given set of SKUs and categories (the engine's
own property tests and the cross-channel one share them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


def rules_over(
    skus: Sequence[str], categories: Sequence[str]
) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(kind, rule JSON) of every promotion kind, targeting these SKUs and categories."""
    targets = st.one_of(
        st.fixed_dictionaries(
            {"skus": st.lists(st.sampled_from(list(skus)), min_size=1, max_size=3, unique=True)}
        ),
        st.fixed_dictionaries(
            {
                "categories": st.lists(
                    st.sampled_from(list(categories)), min_size=1, max_size=2, unique=True
                )
            }
        ),
    )
    basket_or_items = st.one_of(st.just("basket"), targets)
    percent = st.integers(1, 10_000)
    money = st.integers(1, 50_000)
    limit = st.one_of(st.none(), st.integers(1, 3))

    return st.one_of(
        st.tuples(
            st.just("percent_off"),
            st.fixed_dictionaries({"target": basket_or_items, "percent_bp": percent}),
        ),
        st.tuples(
            st.just("amount_off"),
            st.fixed_dictionaries({"target": basket_or_items, "amount": money}),
        ),
        st.tuples(
            st.just("buy_x_get_y"),
            st.fixed_dictionaries(
                {
                    "buy": targets,
                    "buy_quantity": st.integers(1, 3),
                    "get": targets,
                    "get_quantity": st.integers(1, 2),
                    "percent_bp": percent,
                    "max_applications": limit,
                }
            ),
        ),
        st.tuples(
            st.just("bundle"),
            st.fixed_dictionaries(
                {
                    "components": st.lists(
                        st.fixed_dictionaries({"target": targets, "quantity": st.integers(1, 2)}),
                        min_size=1,
                        max_size=3,
                    ),
                    "price": st.integers(0, 20_000),
                    "max_applications": limit,
                }
            ),
        ),
        st.tuples(
            st.just("tiered"),
            st.fixed_dictionaries(
                {
                    "target": basket_or_items,
                    "measure": st.sampled_from(["spend", "quantity"]),
                    "tiers": st.lists(
                        st.one_of(
                            st.fixed_dictionaries(
                                {"threshold": st.integers(1, 20), "percent_bp": percent}
                            ),
                            st.fixed_dictionaries(
                                {"threshold": st.integers(1, 20_000), "amount": money}
                            ),
                        ),
                        min_size=1,
                        max_size=3,
                        unique_by=lambda t: t["threshold"],
                    ),
                }
            ),
        ),
    )
