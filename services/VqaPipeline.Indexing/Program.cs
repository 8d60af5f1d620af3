using VqaPipeline.Indexing;

if (args is [SearchBenchmark.Argument, ..])
    return await SearchBenchmark.RunAsync(args[1..]);
await IndexingService.Build(args).RunAsync();
return 0;
