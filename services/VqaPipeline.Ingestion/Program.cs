using VqaPipeline.Ingestion;

await IngestionService.Build(args).RunAsync();
