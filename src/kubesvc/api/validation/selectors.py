"""Label selectors: metav1.LabelSelector validation, parsing, matching and Go rendering.

`validate_label_selector` is apimachinery's ValidateLabelSelector (label values in
expressions checked too); `selector_parses` says whether LabelSelectorAsSelector would
succeed, `selector_matches` applies a parsed selector to a label set (an empty selector
matches everything), and `go_label_selector` prints one as Go's `%#v` does.
"""

from __future__ import annotations

from kubesvc.api.errors import FieldError, forbidden, invalid, required
from kubesvc.api.gofmt import go_quote
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import invalid_each, validate_label_name, validate_labels
from kubesvc.api.validation.fields import (
    GoLiteral,
    Obj,
    Reader,
    child,
    go_string_map,
    go_string_slice,
    index,
)

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(r: Reader, selector: Obj | None, path: str) -> list[FieldError]:
    """ValidateLabelSelector with AllowInvalidLabelValueInSelector false."""
    if selector is None:
        return []
    errs = validate_labels(
        r.opt_str_map(selector, "matchLabels", child(path, "matchLabels")),
        child(path, "matchLabels"),
    )
    exprs_path = child(path, "matchExpressions")
    for i, raw in enumerate(r.lst(selector, "matchExpressions", exprs_path)):
        epath = index(exprs_path, i)
        expr = r.as_obj(raw, epath)
        operator = r.string(expr, "operator", child(epath, "operator"))
        values = r.str_list(expr, "values", child(epath, "values"))
        if operator in ("In", "NotIn"):
            if not values:
                detail = "must be specified when `operator` is 'In' or 'NotIn'"
                errs.append(required(child(epath, "values"), detail))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                detail = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                errs.append(forbidden(child(epath, "values"), detail))
        else:
            errs.append(
                invalid(child(epath, "operator"), operator, "not a valid selector operator")
            )
        errs += validate_label_name(r.string(expr, "key", child(epath, "key")), child(epath, "key"))
        for j, value in enumerate(values):
            vpath = index(child(epath, "values"), j)
            errs += invalid_each(vpath, value, formats.is_label_value(value))
    return errs


def selector_parses(selector: Obj) -> bool:
    """Whether metav1.LabelSelectorAsSelector would succeed."""
    labels = selector.get("matchLabels") or {}
    if not isinstance(labels, dict):
        return False
    for k, v in labels.items():
        if not isinstance(v, str) or formats.is_qualified_name(k) or formats.is_label_value(v):
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            return False
        operator = expr.get("operator")
        values = expr.get("values") or []
        if operator not in SELECTOR_OPERATORS or not isinstance(values, list):
            return False
        if (operator in ("In", "NotIn")) != bool(values):
            return False
        if formats.is_qualified_name(str(expr.get("key") or "")):
            return False
        if any(not isinstance(v, str) or formats.is_label_value(v) for v in values):
            return False
    return True


def selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    """A parsed selector's Matches; an empty selector matches everything."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        k, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = k in labels
        if op == "In" and not (present and labels[k] in values):
            return False
        if op == "NotIn" and present and labels[k] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def go_label_selector(selector: Obj | None) -> GoLiteral:
    """`%#v` of a metav1.LabelSelector."""
    selector = selector or {}
    labels = selector.get("matchLabels")
    labels_text = go_string_map(labels if isinstance(labels, dict) else None).text
    exprs = selector.get("matchExpressions")
    if not isinstance(exprs, list):
        exprs_text = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = []
        for expr in exprs:
            expr = expr if isinstance(expr, dict) else {}
            values = expr.get("values")
            items.append(
                "v1.LabelSelectorRequirement{"
                f"Key:{go_quote(str(expr.get('key') or ''))}, "
                f"Operator:{go_quote(str(expr.get('operator') or ''))}, "
                f"Values:{go_string_slice(values if isinstance(values, list) else None)}}}"
            )
        exprs_text = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return GoLiteral(
        f"v1.LabelSelector{{MatchLabels:{labels_text}, MatchExpressions:{exprs_text}}}"
    )
