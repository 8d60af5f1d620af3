return await VqaPipeline.Cli.VqaCommandLine.RunAsync(args, Console.Out, Console.Error);
