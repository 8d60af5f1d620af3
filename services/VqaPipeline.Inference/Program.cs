using VqaPipeline.Hosting;
using VqaPipeline.Inference;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddInference();
var app = builder.Build();
app.MapInference();
await app.RunAsync();
return 0;
