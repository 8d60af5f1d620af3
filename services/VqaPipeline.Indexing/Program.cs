using VqaPipeline.Hosting;
using VqaPipeline.Indexing;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(IndexingService.Name, () => IndexingService.Build(args));
