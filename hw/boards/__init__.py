"""The project's board platforms (amaranth-boards subclasses with the fixes the project needs)."""
