import config from '@jmpjs/eslint-config';

export default [...config, { files: ['examples/**/*.mjs'], languageOptions: { sourceType: 'module' } }];
