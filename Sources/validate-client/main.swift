import ValidationCLI

ClientCommand.main()
