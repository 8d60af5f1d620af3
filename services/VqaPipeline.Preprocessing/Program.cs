using VqaPipeline.Hosting;
using VqaPipeline.Preprocessing;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(PreprocessingService.Name, () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddPreprocessing();
    var app = builder.Build();
    app.MapPreprocessing();
    return app;
});
