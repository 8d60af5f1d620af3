using VqaPipeline.Hosting;
using VqaPipeline.Ingestion;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
await IngestionService.Build(args).RunAsync();
return 0;
