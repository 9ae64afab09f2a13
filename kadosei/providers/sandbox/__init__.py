"""kadosei's adapters for the built-in sandbox PSPs (``kadosei/sandbox``), one per PSP."""
