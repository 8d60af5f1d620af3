using VqaPipeline.Hosting;
using VqaPipeline.Training;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
var builder = WebApplication.CreateBuilder(args);
builder.AddTraining();
var app = builder.Build();
app.MapTraining();
await app.RunAsync();
return 0;
