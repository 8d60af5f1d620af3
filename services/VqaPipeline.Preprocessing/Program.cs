using VqaPipeline.Hosting;
using VqaPipeline.Preprocessing;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
var builder = WebApplication.CreateBuilder(args);
builder.AddPreprocessing();
var app = builder.Build();
app.MapPreprocessing();
await app.RunAsync();
return 0;
