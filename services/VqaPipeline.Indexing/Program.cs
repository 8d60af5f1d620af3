using VqaPipeline.Hosting;
using VqaPipeline.Indexing;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
if (args is [SearchBenchmark.Argument, ..])
    return await SearchBenchmark.RunAsync(args[1..]);
await IndexingService.Build(args).RunAsync();
return 0;
