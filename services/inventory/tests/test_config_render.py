"""Rendering rules of inventory spec §6.5 and worked example D."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from contractor.inventory.config import ConfigRenderer, ConfigRenderError, render
from contractor.inventory.config.render import config_tojson, default_renderer
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TestWorkedExampleD:
    def test_chain_takes_rounds(self) -> None:
        assert render({"a": "{{b}}", "b": "{{c}}", "c": "x"}) == {"a": "x", "b": "x", "c": "x"}

    def test_chain_needs_three_rounds(self) -> None:
        values = {"a": "{{b}}", "b": "{{c}}", "c": "x"}
        assert ConfigRenderer(max_rounds=3).render(values)["a"] == "x"
        with pytest.raises(ConfigRenderError):
            ConfigRenderer(max_rounds=2).render(values)

    def test_number_renders_as_string(self) -> None:
        assert render({"a": 1, "d": "{{a}}"}) == {"a": 1, "d": "1"}

    def test_default_filter(self) -> None:
        assert render({"d": "{{z|default('v')}}"}) == {"d": "v"}

    def test_missing_key_of_defined_object_is_empty(self) -> None:
        assert render({"a": {"b": "c"}, "d": "{{a.b}} {{a.z}}"})["d"] == "c "

    def test_attribute_of_undefined_raises(self) -> None:
        with pytest.raises(ConfigRenderError) as caught:
            render({"d": "{{x.y}}"})
        assert caught.value.path == "d"

    def test_never_settles(self) -> None:
        with pytest.raises(ConfigRenderError) as caught:
            render({"a": "{{a}}x"})
        assert caught.value.path == "a"


class TestRounds:
    def test_input_not_changed(self) -> None:
        values: dict[str, Any] = {"a": ["{{b}}", {"c": "{{b}}"}], "b": "x"}
        before = copy.deepcopy(values)
        assert render(values) == {"a": ["x", {"c": "x"}], "b": "x"}
        assert values == before

    def test_keys_never_rendered(self) -> None:
        assert render({"m": {"{{b}}": "{{b}}"}, "b": "x"}) == {"m": {"{{b}}": "x"}, "b": "x"}

    def test_non_strings_untouched_at_depth(self) -> None:
        values = {"a": [1, 2.5, None, True, {"b": False}]}
        assert render(values) == values

    def test_context_is_previous_round(self) -> None:
        # b is rendered in the same round as a, but a sees b's old text and needs a round more
        assert render({"a": "{{b}}", "b": "{{ 'y' }}"}) == {"a": "y", "b": "y"}

    def test_braces_in_different_values_never_combine(self) -> None:
        values = {"a": "text {", "b": "{ c } }", "c": "x"}
        assert render(values) == values

    def test_rendered_value_is_string(self) -> None:
        assert render({"a": [1, 2], "b": "{{a}}", "c": "{{ 1 + 1 }}"})["c"] == "2"
        assert render({"a": [1, 2], "b": "{{a}}"})["b"] == "[1, 2]"

    def test_trailing_newline_kept(self) -> None:
        assert render({"a": "line\n", "b": "{{ 'x' }}\n"}) == {"a": "line\n", "b": "x\n"}

    def test_attributes_and_globals_usable(self) -> None:
        values = {
            "_fqdn": "h.example",
            "__contractor_host": "http://c",
            "u": "{{__contractor_host}}/{{_fqdn}}",
        }
        assert render(values)["u"] == "http://c/h.example"

    def test_statements(self) -> None:
        values = {"l": ["a", "b"], "s": "{% for i in l %}{{ i }};{% endfor %}"}
        assert render(values)["s"] == "a;b;"

    def test_max_rounds_override(self) -> None:
        with pytest.raises(ConfigRenderError):
            render({"a": "{{b}}", "b": "{{c}}", "c": "x"}, max_rounds=2)


class TestErrors:
    @pytest.mark.parametrize(
        ("values", "path"),
        [
            ({"a": "{{"}, "a"),
            ({"a": {"b": ["ok", "{% if %}"]}}, "a.b[1]"),
            ({"a": "{{ 1 / 0 }}"}, "a"),
            ({"a": "{{ x['y'] }}"}, "a"),
            ({"l": [1], "a": "{{ l.append(2) }}"}, "a"),
        ],
    )
    def test_error_names_path(self, values: dict[str, Any], path: str) -> None:
        with pytest.raises(ConfigRenderError) as caught:
            render(values)
        assert caught.value.path == path
        assert str(caught.value).startswith(f"{path}: ")

    def test_sandbox_hides_internals(self) -> None:
        assert render({"a": "{{ ''.__class__ }}"}) == {"a": ""}


class TestEnvironment:
    def test_sandboxed_and_built_once(self) -> None:
        renderer = default_renderer()
        assert renderer is default_renderer()
        assert isinstance(renderer.environment, ImmutableSandboxedEnvironment)
        assert renderer.environment.autoescape is False
        assert renderer.max_rounds == 16

    def test_tojson(self) -> None:
        values = {"m": {"b": 1, "a": "<x>"}, "j": "{{ m|tojson }}", "u": "{{ nope|tojson }}"}
        out = render(values)
        assert out["j"] == '{"a": "<x>", "b": 1}'
        assert out["u"] == '""'

    def test_tojson_datetimes(self) -> None:
        moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert config_tojson({"t": moment}) == '{"t": "2030-01-02T03:04:05+00:00"}'


class TestRenderText:
    def test_renders_once_in_the_sandbox(self) -> None:
        renderer = ConfigRenderer()
        text = "kernel {{ _fqdn }} {{ missing }}{{ '{{x}}' }}\n"
        assert (
            renderer.render_text(text, {"_fqdn": "h.test"}, name="pxe") == "kernel h.test {{x}}\n"
        )

    def test_errors_name_the_template(self) -> None:
        with pytest.raises(ConfigRenderError) as caught:
            ConfigRenderer().render_text("{% for %}", {}, name="pxe ubuntu template")
        assert caught.value.path == "pxe ubuntu template"
