using VqaPipeline.Hosting;
using VqaPipeline.Inference;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
if (await PipelineBench.RunIfAskedAsync(args) is { } benchExitCode)
    return benchExitCode;
return await ServiceEntryPoint.RunAsync(InferenceService.Name, () =>
{
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddInference();
    var app = builder.Build();
    app.MapInference();
    return app;
});
