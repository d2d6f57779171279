"""The offline structural provider (see ``client``); ``render`` owns the frame format."""

from contextree.providers.structural.client import StructuralClient
from contextree.providers.structural.render import render_directory, render_file

__all__ = ["StructuralClient", "render_directory", "render_file"]
