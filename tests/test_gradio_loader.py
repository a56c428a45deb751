"""Gradio imported without its per-import stub writer (qa/serving/gradio_loader.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gradio_imports_without_rewriting_its_stubs_and_still_builds_components():
    code = textwrap.dedent("""
        import sys
        from qa.serving.gradio_loader import _NoStubs, _no_stub, import_gradio
        gr = import_gradio()
        import gradio.blocks_events
        import gradio.component_meta
        assert gradio.component_meta.create_or_modify_pyi is _no_stub
        assert gradio.blocks_events.create_or_modify_pyi is _no_stub
        assert not any(isinstance(f, _NoStubs) for f in sys.meta_path)
        assert import_gradio() is gr
        with gr.Blocks() as demo:
            box = gr.Textbox(label="q")
            chat = gr.Chatbot()
            box.submit(lambda q, m: (m or []) + [{"role": "user", "content": q}], [box, chat], chat)
        print(len(demo.fns), type(chat).__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "Chatbot"]
