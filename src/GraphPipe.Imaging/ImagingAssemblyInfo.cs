// Project placeholder: the preprocessor stage lives in this assembly.
namespace GraphPipe.Imaging;
