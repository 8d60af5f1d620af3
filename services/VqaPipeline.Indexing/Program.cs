using VqaPipeline.Hosting;
using VqaPipeline.Indexing;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
if (args is [SearchBenchmark.Argument, ..])
    return await SearchBenchmark.RunAsync(args[1..]);
return await ServiceEntryPoint.RunAsync(IndexingService.Name, () => IndexingService.Build(args));
