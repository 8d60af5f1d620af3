using VqaPipeline.Preprocessing;

var builder = WebApplication.CreateBuilder(args);
builder.AddPreprocessing();
var app = builder.Build();
app.MapPreprocessing();
await app.RunAsync();
