"""The device around the engine: board configurations, the layer sequencer, the command
decoder, the platform-independent system (what the virtual board verilates) and the board
tops."""
