using VqaPipeline.Hosting;
using VqaPipeline.Ingestion;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(IngestionService.Name, () => IngestionService.Build(args));
