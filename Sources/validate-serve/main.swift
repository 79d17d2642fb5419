import ValidationCLI

ServeCommand.main()
