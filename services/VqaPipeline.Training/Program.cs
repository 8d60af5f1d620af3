using VqaPipeline.Training;

var builder = WebApplication.CreateBuilder(args);
builder.AddTraining();
var app = builder.Build();
app.MapTraining();
await app.RunAsync();
