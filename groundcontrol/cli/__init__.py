"""The ``drone-delivery`` command: ``main`` builds the parser, one module per subcommand."""
