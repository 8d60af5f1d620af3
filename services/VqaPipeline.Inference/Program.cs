using VqaPipeline.Hosting;
using VqaPipeline.Inference;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
if (await PipelineBench.RunIfAskedAsync(args) is { } benchExitCode)
    return benchExitCode;
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddInference();
var app = builder.Build();
app.MapInference();
await app.RunAsync();
return 0;
