import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { catalogueParamsSchema } from '../catalogue/catalogue.dto';
import { CatalogueService } from '../catalogue/catalogue.service';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import { compareRequestSchema, type CompareRequest } from '../recommend/recommend.dto';
import { RecommendService } from '../recommend/recommend.service';
import { configParamsSchema, rollbackSchema, type ConfigParams } from './ranking.dto';
import { RankingConfigService } from './ranking-config.service';

const catalogueParams = new ZodValidationPipe(catalogueParamsSchema, 'path');
const configParams = new ZodValidationPipe(configParamsSchema, 'path');

@ApiTags('ranking')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/catalogues')
export class RankingConfigController {
  constructor(
    private readonly configs: RankingConfigService,
    private readonly catalogues: CatalogueService,
    private readonly recommend: RecommendService,
  ) {}

  @Get(':catalogue/ranking-configs')
  async list(@Param(catalogueParams) params: { catalogue: string }) {
    await this.catalogues.requireCatalogue(params.catalogue);
    return { configs: await this.configs.list(params.catalogue) };
  }

  @Post(':catalogue/ranking-configs/compare')
  @HttpCode(200)
  async compare(
    @Param(catalogueParams) params: { catalogue: string },
    @Body(new ZodValidationPipe(compareRequestSchema, 'body')) body: CompareRequest,
  ) {
    return this.recommend.compare(params.catalogue, body);
  }

  @Get(':catalogue/ranking-configs/:name')
  async get(@Param(configParams) params: ConfigParams) {
    await this.catalogues.requireCatalogue(params.catalogue);
    return this.configs.view(params.catalogue, params.name);
  }

  @Put(':catalogue/ranking-configs/:name')
  async put(@Param(configParams) params: ConfigParams, @Body() body: unknown) {
    await this.catalogues.requireCatalogue(params.catalogue);
    const { history: _, ...created } = await this.configs.put(params.catalogue, params.name, body);
    return created;
  }

  @Post(':catalogue/ranking-configs/:name/rollback')
  @HttpCode(200)
  async rollback(
    @Param(configParams) params: ConfigParams,
    @Body(new ZodValidationPipe(rollbackSchema, 'body')) body: { version: number },
  ) {
    await this.catalogues.requireCatalogue(params.catalogue);
    const { history: _, ...created } = await this.configs.rollback(
      params.catalogue,
      params.name,
      body.version,
    );
    return created;
  }

  @Put(':catalogue/experiments/:name')
  async putExperiment(@Param(configParams) params: ConfigParams, @Body() body: unknown) {
    await this.catalogues.requireCatalogue(params.catalogue);
    return this.configs.putExperiment(params.catalogue, params.name, body);
  }

  @Get(':catalogue/experiments/:name')
  async getExperiment(@Param(configParams) params: ConfigParams) {
    await this.catalogues.requireCatalogue(params.catalogue);
    return this.configs.experimentView(params.catalogue, params.name);
  }

  @Delete(':catalogue/experiments/:name')
  @HttpCode(204)
  async deleteExperiment(@Param(configParams) params: ConfigParams) {
    await this.catalogues.requireCatalogue(params.catalogue);
    await this.configs.deleteExperiment(params.catalogue, params.name);
  }
}
