import ValidateInspect

ValidateInspectCommand.main()
